"""Images served by URL (OpenAI's `response_format: "url"`): each stored under an unguessable name in
the data folder, written whole before its URL is handed out, and gone after its time to live."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from plantain.imaging.encode import write_atomic

NAME = re.compile(r"^[A-Za-z0-9_-]{22}\.(png|jpeg|webp)$")


class ContentStore:
    def __init__(self, folder: Path, ttl: float) -> None:
        self.folder = folder
        self.ttl = ttl
        self.swept = 0.0

    def put(self, data: bytes, extension: str) -> str:
        """Store the bytes; their name, 128 random bits and the extension. Expired images are
        swept at most once a minute, on the way."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if time.time() - self.swept > 60:
            self.swept = time.time()
            self.sweep()
        name = f"{secrets.token_urlsafe(16)}.{extension}"
        write_atomic(self.folder / name, data)
        return name

    def get(self, name: str) -> bytes | None:
        """The stored bytes, or None when there are none by that name or they have expired."""
        if not NAME.match(name):
            return None
        path = self.folder / name
        try:
            if time.time() - path.stat().st_mtime > self.ttl:
                path.unlink(missing_ok=True)
                return None
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def sweep(self) -> int:
        """Delete every expired image; how many went."""
        if not self.folder.is_dir():
            return 0
        gone = 0
        cutoff = time.time() - self.ttl
        for path in self.folder.iterdir():
            if NAME.match(path.name) and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                gone += 1
        return gone
