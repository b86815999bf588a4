"""The OpenAPI document at /openapi.json: every route of every dialect, with its request body and
its replies, in the shapes the dialects really send (the fuzzing tests hold the server to it).

FastAPI documents what it can see: paths and query parameters. The routes read their bodies
themselves (each dialect answers a bad body in its own error format, never FastAPI's 422), and
Google's model methods share one path (`models/{model}:generateContent`, `:predict`, ...), so this
module adds what it cannot see: each model method as its own operation, the request bodies from the
dialects' own pydantic models, and the replies, errors included (Google's error on Google's paths,
OpenAI's on OpenAI's).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from plantain import __version__
from plantain.api.admin import NewKey
from plantain.protocol import gemini, imagen, openai, openai_batches

REF = "#/components/schemas/{model}"
GOOGLE_PREFIXES = ("/v1beta", "/v1", "/v1beta1")
JSON = "application/json"


def obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
ANY_OBJECT: dict[str, Any] = {"type": "object"}
NULLABLE_STRING = {"type": ["string", "null"]}

# Replies, written from what the dialects send (protocol.*).
REPLIES: dict[str, dict[str, Any]] = {
    "GoogleError": obj(
        {
            "error": obj(
                {
                    "code": INTEGER,
                    "message": STRING,
                    "status": STRING,
                    "details": {"type": "array", "items": ANY_OBJECT},
                },
                ("code", "message", "status"),
            )
        },
        ("error",),
    ),
    "OpenAIError": obj(
        {
            "error": obj(
                {"message": STRING, "type": STRING, "param": NULLABLE_STRING, "code": NULLABLE_STRING},
                ("message", "type", "param", "code"),
            )
        },
        ("error",),
    ),
    "Candidate": obj(
        {
            "index": INTEGER,
            "finishReason": STRING,
            "finishMessage": STRING,
            "content": obj({"role": STRING, "parts": {"type": "array", "items": ANY_OBJECT}}, ("role", "parts")),
        },
        ("index",),
    ),
    "UsageMetadata": obj(
        {
            "promptTokenCount": INTEGER,
            "candidatesTokenCount": INTEGER,
            "totalTokenCount": INTEGER,
            "thoughtsTokenCount": INTEGER,
            "promptTokensDetails": {"type": "array"},
            "candidatesTokensDetails": {"type": "array"},
        },
        ("promptTokenCount", "totalTokenCount"),
    ),
    "GenerateContentResponse": obj(
        {
            "candidates": {"type": "array", "items": {"$ref": "#/components/schemas/Candidate"}},
            "promptFeedback": obj({"blockReason": STRING, "blockReasonMessage": STRING}, ("blockReason",)),
            "usageMetadata": {"$ref": "#/components/schemas/UsageMetadata"},
            "modelVersion": STRING,
            "responseId": STRING,
        },
        ("usageMetadata", "modelVersion", "responseId"),
    ),
    "CountTokensResponse": obj({"totalTokens": INTEGER, "promptTokensDetails": {"type": "array"}}, ("totalTokens",)),
    "PredictResponse": obj({"predictions": {"type": "array", "items": ANY_OBJECT}}),
    "Operation": obj(
        {"name": STRING, "metadata": ANY_OBJECT, "done": BOOLEAN, "response": ANY_OBJECT}, ("name", "metadata")
    ),
    "ImagesResponse": obj(
        {"created": INTEGER, "data": {"type": "array", "items": ANY_OBJECT}, "usage": ANY_OBJECT}, ("created", "data")
    ),
    "Model": obj(
        {
            "name": STRING,
            "baseModelId": STRING,
            "displayName": STRING,
            "inputTokenLimit": INTEGER,
            "supportedGenerationMethods": {"type": "array", "items": STRING},
        },
        ("name", "baseModelId", "displayName", "supportedGenerationMethods"),
    ),
    "ModelList": obj(
        {
            "models": {"type": "array", "items": {"$ref": "#/components/schemas/Model"}},
            "nextPageToken": STRING,
            "object": {"const": "list"},
            "data": {"type": "array", "items": ANY_OBJECT},
        },
        ("models",),
    ),
    "File": obj(
        {
            "name": STRING,
            "mimeType": STRING,
            "sizeBytes": STRING,
            "uri": STRING,
            "state": STRING,
            "sha256Hash": STRING,
            "source": STRING,
        },
        ("name", "mimeType", "sizeBytes", "uri", "state"),
    ),
    "FileList": obj(
        {"files": {"type": "array", "items": {"$ref": "#/components/schemas/File"}}, "nextPageToken": STRING}
    ),
    "OperationList": obj(
        {"operations": {"type": "array", "items": {"$ref": "#/components/schemas/Operation"}}, "nextPageToken": STRING}
    ),
    "OpenAIFile": obj(
        {
            "id": STRING,
            "object": {"const": "file"},
            "bytes": INTEGER,
            "created_at": INTEGER,
            "filename": STRING,
            "purpose": STRING,
        },
        ("id", "object", "bytes", "filename", "purpose"),
    ),
    "OpenAIBatch": obj(
        {"id": STRING, "object": {"const": "batch"}, "endpoint": STRING, "status": STRING},
        ("id", "object", "endpoint", "status"),
    ),
    "OpenAIList": obj(
        {"object": {"const": "list"}, "data": {"type": "array", "items": ANY_OBJECT}, "has_more": BOOLEAN},
        ("object", "data"),
    ),
}


def google_error(path: str) -> bool:
    return not path.startswith(("/openai/", "/v1/images/"))


def replies(path: str, ok: dict[str, Any] | None, media: str = JSON) -> dict[str, Any]:
    """A 200 with `ok` as its body's schema (None: any JSON object), and every other status the
    route's own error body."""
    error = "GoogleError" if google_error(path) else "OpenAIError"
    body: dict[str, Any] = {"schema": ok or ANY_OBJECT} if media == JSON else {"schema": {"type": "string"}}
    return {
        "200": {"description": "The answer.", "content": {media: body}},
        "default": {"description": "An error, in the route's own format.",
                    "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{error}"}}}},
    }  # fmt: skip


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": ref(model.__name__)}}}


EDIT_FORM = {
    "required": True,
    "content": {"multipart/form-data": {"schema": obj({
        "prompt": STRING, "model": STRING, "n": INTEGER, "size": STRING, "quality": STRING,
        "response_format": STRING, "output_format": STRING,
        "image": {"type": "string", "format": "binary"}, "mask": {"type": "string", "format": "binary"},
    }, ("prompt", "image"))}},
}  # fmt: skip
FILE_FORM = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": obj({"purpose": STRING, "file": {"type": "string", "format": "binary"}}, ("purpose", "file"))
        }
    },
}

# Google's model methods: (method, request body model, reply schema, reply media type).
MODEL_METHODS: list[tuple[str, type[BaseModel], dict[str, Any] | None, str]] = [
    ("generateContent", gemini.GenerateContentRequest, ref("GenerateContentResponse"), JSON),
    ("streamGenerateContent", gemini.GenerateContentRequest, None, "text/event-stream"),
    ("countTokens", gemini.CountTokensRequest, ref("CountTokensResponse"), JSON),
    ("predict", imagen.PredictRequest, ref("PredictResponse"), JSON),
    ("batchGenerateContent", gemini.BatchCreateRequest, ref("Operation"), JSON),
]
BODY_MODELS: list[type[BaseModel]] = [
    gemini.GenerateContentRequest, gemini.CountTokensRequest, imagen.PredictRequest, gemini.BatchCreateRequest,
    gemini.UploadStart, openai.ImagesRequest, openai_batches.BatchCreate, NewKey,
]  # fmt: skip
# Routes that read a body themselves: (method, path, request body).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/images/generations"): json_body(openai.ImagesRequest),
    ("post", "/openai/v1/images/generations"): json_body(openai.ImagesRequest),
    ("post", "/v1/images/edits"): EDIT_FORM,
    ("post", "/openai/v1/images/edits"): EDIT_FORM,
    ("post", "/openai/v1/files"): FILE_FORM,
    ("post", "/openai/v1/batches"): json_body(openai_batches.BatchCreate),
    ("post", "/upload/v1beta/files"): json_body(gemini.UploadStart),
    ("post", "/upload/v1/files"): json_body(gemini.UploadStart),
}
BINARY = ("/download/", "/v1/images/content/", "/openai/v1/files/{file_id}/content")
# The 200 body of each route, by (method, path): exact paths, then path endings.
REPLY_SCHEMAS = {
    ("post", "/v1/images/generations"): "ImagesResponse", ("post", "/openai/v1/images/generations"): "ImagesResponse",
    ("post", "/v1/images/edits"): "ImagesResponse", ("post", "/openai/v1/images/edits"): "ImagesResponse",
    ("post", "/openai/v1/files"): "OpenAIFile", ("get", "/openai/v1/files"): "OpenAIList",
    ("get", "/openai/v1/files/{file_id}"): "OpenAIFile",
    ("post", "/openai/v1/batches"): "OpenAIBatch", ("get", "/openai/v1/batches"): "OpenAIList",
    ("get", "/openai/v1/batches/{batch_id}"): "OpenAIBatch",
    ("post", "/openai/v1/batches/{batch_id}/cancel"): "OpenAIBatch",
}  # fmt: skip
REPLY_ENDINGS = {
    ("get", "/models"): "ModelList", ("get", "/models/{name}"): "Model",
    ("get", "/files"): "FileList", ("get", "/files/{name}"): "File",
    ("get", "/batches"): "OperationList", ("get", "/batches/{name}"): "Operation",
}  # fmt: skip


def reply_schema(method: str, path: str) -> dict[str, Any] | None:
    name = REPLY_SCHEMAS.get((method, path))
    if name is None and not path.startswith(("/openai/", "/upload/", "/download/", "/admin/")):
        name = next((n for (m, end), n in REPLY_ENDINGS.items() if m == method and path.endswith(end)), None)
    return ref(name) if name else None


def document(app: FastAPI) -> dict[str, Any]:
    base = get_openapi(title="Plantain", version=__version__, routes=app.routes,
                       description="Gemini, Imagen (:predict), Vertex and OpenAI Images APIs, one server.")  # fmt: skip
    paths: dict[str, dict[str, Any]] = {}
    for path, operations in base["paths"].items():
        # The shared model-method path is replaced by one operation per method, below.
        if path.endswith("/models/{name}") and "post" in operations:
            operations = {m: op for m, op in operations.items() if m != "post"}
        if path.endswith("/batches/{name}") and "post" in operations and not path.startswith("/openai/"):
            operations = {m: op for m, op in operations.items() if m != "post"}
            paths[path.replace("{name}", "{batch}") + ":cancel"] = {"post": {
                "operationId": f"cancel_batch_{path.split('/')[1]}", "summary": "Cancel a batch job",
                "parameters": [{"name": "batch", "in": "path", "required": True, "schema": STRING}],
                "responses": replies(path, ANY_OBJECT),
            }}  # fmt: skip
        for method, op in operations.items():
            op["responses"] = replies(
                path, reply_schema(method, path), "application/octet-stream" if path.startswith(BINARY) else JSON
            )
            if path.endswith(("/images/generations", "/images/edits")):
                # `"stream": true` answers with server-sent events instead of one JSON body.
                op["responses"]["200"]["content"]["text/event-stream"] = {"schema": STRING}
            if (method, path) in BODIES:
                op["requestBody"] = BODIES[(method, path)]
            elif "requestBody" in op and path.startswith("/admin/"):
                op["requestBody"] = json_body(NewKey)
        if operations:
            paths[path] = operations
    for prefix in GOOGLE_PREFIXES:
        for models in (f"{prefix}/models", f"{prefix}/publishers/google/models"):
            for method, body, reply, media in MODEL_METHODS:
                tag = models.strip("/").replace("/", "_")
                paths[f"{models}/{{model}}:{method}"] = {"post": {
                    "operationId": f"{method}_{tag}", "summary": f"models.{method}",
                    "parameters": [{"name": "model", "in": "path", "required": True, "schema": STRING}],
                    "requestBody": json_body(body), "responses": replies(models, reply, media),
                }}  # fmt: skip
    _, defs = models_json_schema([(m, "validation") for m in BODY_MODELS], ref_template=REF)
    base["paths"] = paths
    base["components"] = {
        "schemas": {**defs.get("$defs", {}), **REPLIES},
        "securitySchemes": {
            "googleApiKey": {"type": "apiKey", "in": "header", "name": "x-goog-api-key"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
    }
    base["security"] = [{"googleApiKey": []}, {"bearer": []}]
    return base


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
