"""Provenance marks on every image the service makes: the invisible watermark in its pixels
(imaging.watermark) and a signed C2PA manifest in its file (imaging.credentials). Previews, which
are not the answer, carry neither."""

from __future__ import annotations

import logging

from PIL import Image

from plantain import __version__
from plantain.core.settings import Settings
from plantain.imaging.credentials import Credentials, make_certificates
from plantain.imaging.watermark import embed

log = logging.getLogger("plantain.serving")


class Provenance:
    def __init__(self, settings: Settings) -> None:
        self.watermark = settings.watermark
        self.credentials: Credentials | None = None
        if not settings.content_credentials:
            return
        cert, key = settings.c2pa_cert, settings.c2pa_key
        if (cert is None) != (key is None):
            raise ValueError("PLANTAIN_C2PA_CERT and PLANTAIN_C2PA_KEY are set together, or neither")
        if cert is None or key is None:
            # The server's own CA and signer, made once in its data folder.
            ca, cert, key = make_certificates(settings.data_dir / "credentials")
            log.debug("signing content credentials with the server's own certificate (CA: %s)", ca)
        self.credentials = Credentials.from_files(cert, key, __version__, settings.c2pa_tsa_url)

    def mark(self, image: Image.Image) -> Image.Image:
        return embed(image) if self.watermark else image

    def sign(self, data: bytes, mime_type: str, model: str) -> bytes:
        return self.credentials.sign(data, mime_type, model) if self.credentials is not None else data
