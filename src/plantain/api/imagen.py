"""Imagen's `:predict` dialect (generate_images, edit_image, upscale_image) for every catalog ID.

It shares Google's model paths (`models/{id}:predict`, `publishers/google/models/{id}:predict`), so
the Google router hands `:predict` here once it has found the entry; errors are Google's.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from plantain.api.body import read_json
from plantain.api.deps import account_of, cost_headers, priority_of, service
from plantain.api.lifecycle import answered, cancel_token
from plantain.protocol import imagen as wire


async def predict(request: Request, model: str) -> Response:
    svc = service(request)
    body = wire.parse_predict(await read_json(request, svc.settings.max_request_bytes))
    kind = wire.kind_of(body)
    entry = svc.entry(model)
    token = cancel_token(request, svc.settings)
    account = account_of(request, "imagen")
    if kind == "upscale":
        upscale = wire.to_upscale(entry.id, body)
        result = await answered(request, token, lambda: svc.upscale(upscale, token, account))
    else:
        core = wire.to_core(entry.id, body, entry.max_candidates, priority_of(request))
        result = await answered(request, token, lambda: svc.generate(core, token, account=account))
    if result is None:
        return Response(status_code=499)  # the client has gone: nobody is there to read it
    params = body.parameters
    enhanced = bool(params and params.enhance_prompt)
    rai = bool(params and params.include_rai_reason)
    return JSONResponse(wire.predictions(result, enhanced, rai), headers=cost_headers(result))
