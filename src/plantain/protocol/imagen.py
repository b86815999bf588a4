"""Imagen's `:predict` wire format (generate_images, edit_image, upscale_image): request models,
their translation into core requests, and predictions built from core results.

It is a Google dialect: camelCase or snake_case fields, unknown fields refused, lenient base64 in,
standard base64 out (Open WebUI decodes replies with a decoder that drops URL-safe characters), and
Google's error envelope. `instances` may be one object (Open WebUI) or a list of one (the SDKs).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError

from plantain.core.errors import invalid_argument
from plantain.core.jobs import Priority
from plantain.core.requests import GenerationRequest, ImageInput, Turn, UpscaleRequest
from plantain.core.results import ImageOut, Result
from plantain.protocol.gemini import Wire, b64decode_lenient, b64encode, validation_error

# Images a request makes when it does not say (Imagen's hosted default), at most the entry's own.
DEFAULT_SAMPLE_COUNT = 4
OUTPUT_MIME_TYPES = ("image/png", "image/jpeg", "image/webp")


class WireImage(Wire):
    bytes_base64_encoded: str | None = None
    mime_type: str | None = None
    gcs_uri: str | None = None


class MaskImageConfig(Wire):
    mask_mode: str | None = None
    mask_classes: list[int] | None = None
    dilation: float | None = None


class ControlImageConfig(Wire):
    control_type: str | None = None
    enable_control_image_computation: bool | None = None
    compute_control: bool | None = None


class StyleImageConfig(Wire):
    style_description: str | None = None


class SubjectImageConfig(Wire):
    subject_type: str | None = None
    subject_description: str | None = None


class ReferenceImage(Wire):
    reference_image: WireImage | None = None
    reference_id: int | None = None
    reference_type: str
    mask_image_config: MaskImageConfig | None = None
    control_image_config: ControlImageConfig | None = None
    style_image_config: StyleImageConfig | None = None
    subject_image_config: SubjectImageConfig | None = None


class Instance(Wire):
    prompt: str | None = None
    image: WireImage | None = None  # upscale_image's input
    reference_images: list[ReferenceImage] | None = None


class OutputOptions(Wire):
    mime_type: str | None = None
    compression_quality: int | None = Field(default=None, ge=0, le=100)


class UpscaleConfig(Wire):
    upscale_factor: str | None = None
    enhance_input_image: bool | None = None
    image_preservation_factor: float | None = None


class Parameters(Wire):
    sample_count: int | None = None
    aspect_ratio: str | None = None
    sample_image_size: str | None = None
    image_size: str | None = None  # LiteLLM's name for sampleImageSize
    output_options: OutputOptions | None = None
    seed: int | None = Field(default=None, ge=0, lt=2**32)
    negative_prompt: str | None = None
    guidance_scale: float | None = None
    enhance_prompt: bool | None = None
    # Accepted and, without a safety filter configured, without effect.
    safety_setting: str | None = None
    person_generation: str | None = None
    include_safety_attributes: bool | None = None
    include_rai_reason: bool | None = None
    language: str | None = None
    add_watermark: bool | None = None
    storage_uri: str | None = None
    edit_mode: str | None = None
    edit_config: dict[str, Any] | None = None
    mode: str | None = None
    upscale_config: UpscaleConfig | None = None


class PredictRequest(Wire):
    instances: list[Instance] = Field(min_length=1)
    parameters: Parameters | None = None
    labels: dict[str, str] | None = None


Kind = Literal["generate", "edit", "upscale"]


def parse_predict(body: Any) -> PredictRequest:
    if isinstance(body, dict) and isinstance(body.get("instances"), dict):
        body = {**body, "instances": [body["instances"]]}  # Open WebUI sends the one instance bare
    try:
        req = PredictRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    if len(req.instances) > 1:
        raise invalid_argument(
            f"instances holds {len(req.instances)} instances; send one per request (use sampleCount for "
            "several images)",
            "instances",
        )
    params = req.parameters or Parameters()
    if params.storage_uri:
        raise invalid_argument(
            "parameters.storageUri: this server does not write to Cloud Storage; leave it out to get the "
            "images in the reply",
            "parameters.storage_uri",
        )
    return req


def kind_of(req: PredictRequest) -> Kind:
    params = req.parameters or Parameters()
    instance = req.instances[0]
    if (params.mode or "").lower() == "upscale" or params.upscale_config is not None:
        return "upscale"
    return "edit" if instance.reference_images else "generate"


def _image(image: WireImage | None, where: str) -> ImageInput:
    if image is None:
        raise invalid_argument(f"{where} is missing", where)
    if image.gcs_uri:
        raise invalid_argument(f"{where}.gcsUri: Cloud Storage images are not fetched; send bytesBase64Encoded", where)
    if not image.bytes_base64_encoded:
        raise invalid_argument(f"{where}.bytesBase64Encoded is missing", where)
    data = b64decode_lenient(image.bytes_base64_encoded, f"{where}.bytes_base64_encoded")
    # The bytes are sniffed when decoded; a missing MIME type reads as PNG, as Open WebUI assumes.
    return ImageInput(data, (image.mime_type or "image/png").lower(), where)


def _output(params: Parameters) -> tuple[str, int | None]:
    options = params.output_options or OutputOptions()
    mime = (options.mime_type or "image/png").lower()
    if mime not in OUTPUT_MIME_TYPES:
        raise invalid_argument(
            f"parameters.outputOptions.mimeType {options.mime_type!r} is not supported; use one of "
            f"{', '.join(OUTPUT_MIME_TYPES)}",
            "parameters.output_options.mime_type",
        )
    quality = options.compression_quality if mime != "image/png" else None
    return mime, quality


def _sample_count(params: Parameters, max_candidates: int) -> int:
    if params.sample_count is None:
        return min(DEFAULT_SAMPLE_COUNT, max_candidates)
    return params.sample_count  # out of range: refused by the plan, naming the entry's limit


def _prompt(instance: Instance) -> str:
    if instance.prompt is None or not instance.prompt.strip():
        raise invalid_argument("instances[0].prompt is missing: say what to draw", "instances[0].prompt")
    return instance.prompt


def to_core(model: str, req: PredictRequest, max_candidates: int, priority: Priority) -> GenerationRequest:
    """A generate_images or edit_image request as a core request."""
    params = req.parameters or Parameters()
    instance = req.instances[0]
    prompt = _prompt(instance)
    images: list[ImageInput] = []
    mask: ImageInput | None = None
    raw: ImageInput | None = None
    notes: list[str] = []
    for i, ref in enumerate(instance.reference_images or []):
        where = f"instances[0].referenceImages[{i}]"
        kind = ref.reference_type.upper().removeprefix("REFERENCE_TYPE_")
        if kind == "RAW":
            if raw is not None:
                raise invalid_argument(f"{where}: only one RAW image (the image to edit) is taken", where)
            raw = _image(ref.reference_image, f"{where}.referenceImage")
        elif kind == "MASK":
            mode = ((ref.mask_image_config and ref.mask_image_config.mask_mode) or "MASK_MODE_USER_PROVIDED").upper()
            if mode.removeprefix("MASK_MODE_") not in ("USER_PROVIDED", "DEFAULT") or ref.reference_image is None:
                raise invalid_argument(
                    f"{where}: mask mode {mode} needs automatic segmentation, which models/{model} does not offer; "
                    "send the mask as an image (MASK_MODE_USER_PROVIDED)",
                    where,
                )
            mask = _image(ref.reference_image, f"{where}.referenceImage")
        elif kind in ("STYLE", "SUBJECT", "CONTENT"):
            images.append(_image(ref.reference_image, f"{where}.referenceImage"))
            if ref.style_image_config and ref.style_image_config.style_description:
                notes.append(f"in the style of {ref.style_image_config.style_description}")
            if ref.subject_image_config and ref.subject_image_config.subject_description:
                notes.append(f"featuring {ref.subject_image_config.subject_description}")
        elif kind == "CONTROL":
            raise invalid_argument(
                f"{where}: control images (canny, scribble, face mesh) are not supported by models/{model}", where
            )
        else:
            raise invalid_argument(f"{where}.referenceType {ref.reference_type!r} is not a reference type", where)
    if mask is not None and raw is None:
        raise invalid_argument("a MASK reference needs a RAW reference: the image to edit", "instances[0]")
    if raw is not None:
        images.append(raw)  # the image edited is the last one; references come before it
    mime, quality = _output(params)
    text = prompt if not notes else f"{prompt}, {', '.join(notes)}"
    return GenerationRequest(
        model=model,
        turns=[Turn("user", [text], images)],
        modalities=frozenset({"IMAGE"}),
        aspect_ratio=params.aspect_ratio,
        image_size=params.sample_image_size or params.image_size,
        candidate_count=_sample_count(params, max_candidates),
        seed=params.seed,
        mask=mask,
        mask_convention="white",
        output_mime_type=mime,
        output_quality=quality,
        thinking=bool(params.enhance_prompt),
        priority=priority,
    )


def to_upscale(model: str, req: PredictRequest) -> UpscaleRequest:
    params = req.parameters or Parameters()
    factor = (params.upscale_config.upscale_factor if params.upscale_config else None) or ""
    if factor not in ("x2", "x4"):
        raise invalid_argument(
            f"parameters.upscaleConfig.upscaleFactor must be 'x2' or 'x4' (got {factor!r})",
            "parameters.upscale_config.upscale_factor",
        )
    image = _image(req.instances[0].image, "instances[0].image")
    mime, quality = _output(params)
    return UpscaleRequest(model, image, factor, mime, quality)


def predictions(result: Result, enhanced: bool, rai_reasons: bool = False) -> dict[str, Any]:
    """One prediction per image, in order, with its MIME type; with `enhanced`, the prompt the
    images were drawn from (the SDK's `enhanced_prompt`). An image the classifier withheld is a
    `raiFilteredReason` entry with `rai_reasons` (includeRaiReason), else left out."""
    if result.blocked is not None:
        # Imagen refuses a blocked prompt with a 400, not an empty answer.
        raise invalid_argument(f"The prompt could not be submitted: {result.blocked.message}", "prompt")
    out: list[dict[str, Any]] = []
    for i, parts in enumerate(result.candidates):
        withheld = result.withheld.get(i)
        if withheld is not None:
            if rai_reasons:
                out.append({"raiFilteredReason": withheld.message})
            continue
        for image in (p for p in parts if isinstance(p, ImageOut)):
            prediction: dict[str, Any] = {"bytesBase64Encoded": b64encode(image.data), "mimeType": image.mime_type}
            if enhanced and result.prompt:
                prediction["prompt"] = result.prompt
            out.append(prediction)
    return {"predictions": out} if out else {}
