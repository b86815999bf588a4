"""Capability profiles of the pipeline families the diffusers backend serves.

Pipelines do not all take the same arguments: each family says which class loads it, which call
argument takes input images (None: text-to-image only), whether one batch may mix different input
images, what its sides must be multiples of, and the call arguments it always needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Family:
    name: str
    pipeline_class: str
    edit_argument: str | None
    batch_edits: bool
    multiple_of: int
    steps: int
    guidance_scale: float
    call_defaults: dict[str, object] = field(default_factory=dict)
    # Renders one fixed square size (the mini model); outputs are fitted to the asked size.
    fixed_native: bool = False
    # How a rendered image is brought to the served size.
    resample: str = "lanczos"
    # The call argument that caps the pixel area (pipelines that rescale height x width to it).
    area_argument: str | None = None
    # Input images are resized to the render size first (pipelines told not to pick their own).
    resize_inputs: bool = False
    # Python packages the pipeline's components import beyond ours, checked before loading so a
    # missing one is named instead of surfacing as an error deep inside transformers.
    needs: tuple[str, ...] = ()
    # Guidance for edits when it should differ from generation's (None: the same): an edit's
    # guidance pushes its paint as far as a generation's, and a picture that must keep its colours
    # can want less.
    edit_guidance_scale: float | None = None
    # The backend class that serves the family (backends.registry.BACKENDS), unless an entry names one.
    backend: str = "diffusers"
    # Input images with a side shorter than this are scaled up to it first (pipelines that refuse
    # smaller ones, where Google's models take any size).
    min_input_side: int = 0
    # How intermediate images are read from a step's latents: "pixels" (the model denoises pixels),
    # "vae" (4-D latents through a tiny autoencoder when the entry names one, else the pipeline's
    # own VAE), or None (no previews: packed latents this backend does not unpack).
    preview: str | None = None
    # The filter that upscales its images (Imagen's upscale_image), or None when it cannot.
    upscaler: str | None = None


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        # Edits at 1.5: at generation's 3.0 the mini model's recolours overshoot toward the saturated
        # corner, past what reads back as the world's colour (docs/mini-model.md, "Quality").
        Family(
            "mini",
            "MiniPipeline",
            "image",
            True,
            1,
            12,
            3.0,
            fixed_native=True,
            resample="nearest",
            edit_guidance_scale=1.5,
            backend="mini",
            preview="pixels",
            # Its world is flat colour on a grid: nearest-neighbour enlargement is exact.
            upscaler="nearest",
        ),
        # Sana bins every request to a trained resolution and resizes unless told not to.
        Family("sana", "SanaPipeline", None, False, 32, 20, 4.5, {"use_resolution_binning": False}, preview="vae"),
        Family(
            "sana-sprint",
            "SanaSprintPipeline",
            None,
            False,
            32,
            2,
            4.5,
            {"use_resolution_binning": False},
            preview="vae",
        ),
        # Klein's image processor refuses inputs under 64 pixels a side.
        Family("flux2-klein", "Flux2KleinPipeline", "image", False, 16, 4, 1.0, min_input_side=64),
        # Kontext would snap the input to its own preferred sizes and the output to 1024x1024's area.
        Family(
            "flux-kontext",
            "FluxKontextPipeline",
            "image",
            False,
            16,
            28,
            2.5,
            {"_auto_resize": False},
            area_argument="max_area",
            resize_inputs=True,
        ),
        Family("qwen-image", "QwenImagePipeline", None, False, 16, 30, 4.0),
        # Its Qwen2-VL processor carries a video processor, which transformers builds only with torchvision.
        Family("qwen-image-edit", "QwenImageEditPlusPipeline", "image", False, 16, 40, 4.0, needs=("torchvision",)),
        Family("z-image", "ZImagePipeline", None, False, 16, 8, 0.0),
    )
}


def family_of(entry_id: str, family: str) -> Family:
    """The profile a catalog entry names; ValueError naming the known ones when there is none."""
    if family not in FAMILIES:
        raise ValueError(f"model {entry_id}: unknown family {family!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[family]


def check_entry(entry_id: str, family: str, can_edit: bool, upscales: bool = False) -> None:
    """A catalog entry must name a known family, and claim editing and upscaling only where the
    family does them."""
    if can_edit and family_of(entry_id, family).edit_argument is None:
        raise ValueError(f"model {entry_id}: family {family} cannot edit images; set can_edit = false")
    if upscales and family_of(entry_id, family).upscaler is None:
        raise ValueError(f"model {entry_id}: family {family} has no upscaler; remove upscale_factors")
