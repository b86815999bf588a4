"""What the peer servers share: the built-in pipeline as the bare benchmark loads it, and one
request's image as base64 PNG (the encoding Plantain's replies carry)."""

from __future__ import annotations

import base64

import torch
from PIL import Image

from plantain.backends.diffusers_backend import DiffusersBackend
from plantain.imaging.encode import encode_png
from plantain.mini.evaluate import mini_backend


def load(threads: int) -> DiffusersBackend:
    torch.set_num_threads(threads)
    return mini_backend()


def b64_png(image: Image.Image) -> str:
    return base64.b64encode(encode_png(image)).decode()
