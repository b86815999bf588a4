"""Load and soak: 64 clients for minutes against one real `plantain serve` on the built-in model,
mixing Gemini generate, Gemini stream, Gemini edit, OpenAI generate and batch jobs.

    python -m bench.soak [--clients 64] [--seconds 150]

Each client takes one kind of call (client i: kind i mod 5) in a closed loop; a 429 is backpressure
(the queue is full): the client waits the Retry-After it was given and asks again. It checks:
no 5xx, every 429 says the queue is full and carries Retry-After, the server's resident memory
grows less than 10% from the first minute to the last (means of one-second samples), and the
usage ledger holds one paid row for each answered request and batch item. Prints a table and writes
bench/results/soak.json; the table is in docs/reliability.md.
"""

from __future__ import annotations

import base64
import io
import json
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Annotated, Any

import httpx
import psutil
import typer
from PIL import Image
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from tests.server_process import API_KEY, server_process

from plantain.machine import describe, machine
from plantain.store.db import Database
from plantain.store.models import LedgerRow

ROOT = Path(__file__).resolve().parent.parent
MODEL = "plantain-mini"
KINDS = ["gemini generate", "gemini stream", "gemini edit", "openai generate", "batch job"]
PROMPTS = ["a red circle", "two blue squares", "a green triangle at the top left", "three pink diamonds"]
CONFIG = {"responseModalities": ["IMAGE"], "imageConfig": {"imageSize": "512"}}


def start_image() -> str:
    """The picture every edit starts from: a red circle on white, as PNG base64."""
    im = Image.new("RGB", (512, 512), (255, 255, 255))
    im.paste((220, 30, 30), (192, 192, 320, 320))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: Counter[tuple[str, int]] = Counter()
        self.latency: defaultdict[str, list[float]] = defaultdict(list)
        self.answered: Counter[str] = Counter()  # requests answered with images (interactive) or items (batch)
        self.bad_429: list[str] = []
        self.errors: list[str] = []

    def record(self, kind: str, status: int, seconds: float, images: int = 0) -> None:
        with self.lock:
            self.status[(kind, status)] += 1
            if status == 200:
                self.latency[kind].append(seconds)
                self.answered[kind] += images


def client_loop(i: int, base: str, until: float, tally: Tally, edit_from: str, once: bool = False) -> None:
    kind = KINDS[i % len(KINDS)]
    google = {"x-goog-api-key": API_KEY}
    http = httpx.Client(timeout=300)
    k = 0
    while once or time.monotonic() < until:
        once = False
        prompt = PROMPTS[(i + k) % len(PROMPTS)]
        k += 1
        started = time.monotonic()
        try:
            if kind == "batch job":
                status, images = batch_job(http, base, google, prompt, until)
            elif kind == "gemini stream":
                status, images = gemini_stream(http, base, google, prompt)
            elif kind == "openai generate":
                r = http.post(f"{base}/v1/images/generations", headers={"authorization": f"Bearer {API_KEY}"},
                              json={"model": MODEL, "prompt": prompt, "size": "512x512"})  # fmt: skip
                status, images = r.status_code, len(r.json().get("data", [])) if r.status_code == 200 else 0
                check_429(r, tally, kind)
            else:
                parts: list[dict[str, Any]] = [{"text": prompt}]
                if kind == "gemini edit":
                    parts = [
                        {"inlineData": {"mimeType": "image/png", "data": edit_from}},
                        {"text": "make the circle blue"},
                    ]
                body = {"contents": [{"role": "user", "parts": parts}], "generationConfig": CONFIG}
                r = http.post(f"{base}/v1beta/models/{MODEL}:generateContent", headers=google, json=body)
                status = r.status_code
                images = len(r.json()["candidates"]) if status == 200 else 0
                check_429(r, tally, kind)
        except httpx.HTTPError as exc:
            with tally.lock:
                tally.errors.append(f"{kind}: {exc.__class__.__name__}")
            continue
        tally.record(kind, status, time.monotonic() - started, images)
        if status >= 500:
            with tally.lock:
                tally.errors.append(f"{kind}: HTTP {status}")
        if status == 429:
            time.sleep(1.0)


def check_429(r: httpx.Response, tally: Tally, kind: str) -> None:
    """A 429 must be backpressure: the queue full, with a time to come back."""
    if r.status_code != 429:
        return
    message = json.dumps(r.json())
    if "retry-after" not in r.headers or "quota" in message.lower():
        with tally.lock:
            tally.bad_429.append(f"{kind}: {message[:200]}")


def gemini_stream(http: httpx.Client, base: str, headers: dict[str, str], prompt: str) -> tuple[int, int]:
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}], "generationConfig": CONFIG}
    url = f"{base}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
    with http.stream("POST", url, headers=headers, json=body) as r:
        if r.status_code != 200:
            r.read()
            return r.status_code, 0
        chunks = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    last = chunks[-1] if chunks else {}
    if "error" in last or not last.get("candidates"):
        return 500, 0  # an error after the stream began counts as a server failure
    return 200, len(last["candidates"])


def batch_job(http: httpx.Client, base: str, headers: dict[str, str], prompt: str, until: float) -> tuple[int, int]:
    """A job of four requests, created and followed to its end."""
    requests = [{"request": {"contents": [{"parts": [{"text": f"{prompt} {n}"}]}], "generationConfig": CONFIG},
                 "metadata": {"key": str(n)}} for n in range(4)]  # fmt: skip
    body = {"batch": {"displayName": "soak", "inputConfig": {"requests": {"requests": requests}}}}
    r = http.post(f"{base}/v1beta/models/{MODEL}:batchGenerateContent", headers=headers, json=body)
    if r.status_code != 200:
        return r.status_code, 0
    name = r.json()["name"]
    while True:
        time.sleep(0.5)
        job = http.get(f"{base}/v1beta/{name}", headers=headers).json()
        state = job.get("metadata", {}).get("state", "")
        if state in ("BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED"):
            break
        if time.monotonic() > until + 600:
            return 504, 0
    answers = job.get("response", {}).get("inlinedResponses", {}).get("inlinedResponses", [])
    ok = sum(1 for a in answers if "response" in a and a["response"].get("candidates"))
    return (200 if state == "BATCH_STATE_SUCCEEDED" else 500), ok


def main(
    clients: Annotated[int, typer.Option(help="Concurrent clients.")] = 64,
    seconds: Annotated[
        float, typer.Option(help="How long they keep asking (at least 120 for the memory check).")
    ] = 150.0,
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/soak.json",
) -> None:
    console = Console()
    data = Path(tempfile.mkdtemp(prefix="plantain-soak-"))
    env = {"PLANTAIN_DATA_DIR": str(data), "PLANTAIN_MAX_QUEUE": "64", "PLANTAIN_FIT_BATCH": "0"}
    tally = Tally()
    samples: list[tuple[float, float]] = []
    with server_process(env, log=data / "server.log") as server:
        edit_from = start_image()
        warm = Tally()
        for kind in range(len(KINDS) - 1):  # each route once, and the model loaded, before the clock
            client_loop(kind, server.base, 0.0, warm, edit_from, once=True)
        process = psutil.Process(server.pid)
        started = time.monotonic()
        until = started + seconds
        threads = [
            threading.Thread(target=client_loop, args=(i, server.base, until, tally, edit_from)) for i in range(clients)
        ]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            samples.append((time.monotonic() - started, process.memory_info().rss / 2**20))
            time.sleep(1.0)
        for t in threads:
            t.join()
        # Batch items still pending when the clock stopped finish before the ledger is read.
        time.sleep(2)
    db = Database(f"sqlite:///{data / 'plantain.db'}")
    with db.session() as session:
        paid = dict(session.execute(select(LedgerRow.dialect, func.count()).where(LedgerRow.outcome == "ok")
                                    .group_by(LedgerRow.dialect)).all())  # fmt: skip
        others = dict(session.execute(select(LedgerRow.outcome, func.count()).where(LedgerRow.outcome != "ok")
                                      .group_by(LedgerRow.outcome)).all())  # fmt: skip
    db.close()

    elapsed = samples[-1][0] if samples else seconds
    first = [rss for t, rss in samples if t <= 60]
    last = [rss for t, rss in samples if t >= elapsed - 60]
    growth = statistics.mean(last) / statistics.mean(first) - 1
    warm_answered = warm.answered  # the warm-up's requests are in the ledger too
    answered = {kind: tally.answered[kind] + warm_answered[kind] for kind in KINDS}
    ledger_expected = {
        "gemini": answered["gemini generate"] + answered["gemini stream"] + answered["gemini edit"],
        "openai": answered["openai generate"],
        "gemini-batch": answered["batch job"],
    }
    rows = []
    table = Table(
        "kind", "clients", "200", "429", "5xx", "p50 s", "p95 s", "images", title=f"{clients} clients, {seconds:.0f} s"
    )
    for n, kind in enumerate(KINDS):
        lat = sorted(tally.latency[kind])
        row = {
            "kind": kind, "clients": sum(1 for i in range(clients) if i % len(KINDS) == n),
            "ok": tally.status[(kind, 200)], "429": tally.status[(kind, 429)],
            "5xx": sum(c for (k, s), c in tally.status.items() if k == kind and s >= 500),
            "other_4xx": sum(c for (k, s), c in tally.status.items() if k == kind and 400 <= s < 500 and s != 429),
            "p50_s": round(lat[len(lat) // 2], 2) if lat else None,
            "p95_s": round(lat[int(len(lat) * 0.95)], 2) if lat else None,
            "images": tally.answered[kind],
        }  # fmt: skip
        rows.append(row)
        table.add_row(kind, str(row["clients"]), str(row["ok"]), str(row["429"]), str(row["5xx"]),
                      str(row["p50_s"]), str(row["p95_s"]), str(row["images"]))  # fmt: skip
    console.print(table)
    checks = {
        "no 5xx": not any(r["5xx"] for r in rows) and not tally.errors,
        "429 only as backpressure": not tally.bad_429,
        "no other 4xx": not any(r["other_4xx"] for r in rows),
        "RSS growth first to last minute < 10%": growth < 0.10,
        "ledger equals the responses": all(paid.get(d, 0) == n for d, n in ledger_expected.items()),
    }
    console.print(f"RSS: first minute {statistics.mean(first):.0f} MB, last minute {statistics.mean(last):.0f} MB "
                  f"({growth:+.1%}); peak {max(r for _, r in samples):.0f} MB")  # fmt: skip
    console.print("RSS every 10 s (MB): " + " ".join(f"{r:.0f}" for t, r in samples if int(t) % 10 == 0))
    console.print(f"ledger, paid rows by dialect: {paid} (expected {ledger_expected}); other rows: {others}")
    for name, ok in checks.items():
        console.print(f"{'PASS' if ok else 'FAIL'}  {name}")
    for line in (tally.errors + tally.bad_429)[:10]:
        console.print(f"  {line}")
    m = machine()
    console.print(f"on {describe(m)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "clients": clients, "seconds": seconds, "rows": rows, "checks": checks,
        "rss_mb": {"first_minute": round(statistics.mean(first)), "last_minute": round(statistics.mean(last)),
                   "peak": round(max(r for _, r in samples)), "growth": round(growth, 4),
                   "every_10_s": [round(r) for t, r in samples if int(t) % 10 == 0]},
        "ledger": {"paid_by_dialect": paid, "expected": ledger_expected, "other_outcomes": others},
        "machine": m,
    }, indent=2) + "\n")  # fmt: skip
    if not all(checks.values()):
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
