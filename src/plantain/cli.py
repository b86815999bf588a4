"""The `plantain` command line."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from plantain.core.errors import ServiceError
from plantain.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from plantain.core.catalog import Catalog
    from plantain.core.requests import GenerationRequest, ImageInput
    from plantain.core.results import Result
    from plantain.store.db import Database

app = typer.Typer(
    help="Plantain: self-hosted image generation and editing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
MAX_SIDE = 4096


@app.callback()
def _main() -> None:
    """Plantain: self-hosted image generation and editing."""


def fail(message: str) -> typer.Exit:
    """One line on stderr and exit code 2: how every usage mistake ends."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def output_paths(output: Path, n: int) -> list[Path]:
    if n == 1:
        return [output]
    return [output.with_name(f"{output.stem}-{i + 1}{output.suffix}") for i in range(n)]


def check_writable(paths: list[Path]) -> None:
    """Fail before any work when an output cannot be written (missing folder, no permission)."""
    for path in paths:
        if path.is_dir():
            raise fail(f"cannot write {path}: it is a directory")
        folder = path.parent
        if not folder.is_dir():
            raise fail(f"cannot write {path}: the folder {folder} does not exist")
        try:
            fd, probe = tempfile.mkstemp(prefix=".plantain-probe-", dir=folder)
        except OSError as exc:
            raise fail(f"cannot write {path}: {exc.strerror or exc}") from exc
        os.close(fd)
        os.unlink(probe)
        if path.exists() and not os.access(path, os.W_OK):
            raise fail(f"cannot write {path}: permission denied")


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="What to draw, or with --image, the edit to make.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG file to write.")] = Path("plantain.png"),
    seed: Annotated[int | None, typer.Option(help="Seed; the same seed gives the same bytes.", min=0)] = None,
    n: Annotated[int, typer.Option("--n", help="How many images (seeds SEED, SEED+1, ...).", min=1, max=16)] = 1,
    image: Annotated[Path | None, typer.Option(help="Input image: the prompt is then an edit instruction.")] = None,
    size: Annotated[int, typer.Option(help="Side of the square output in pixels.", min=32, max=MAX_SIDE)] = 1024,
    model: Annotated[str, typer.Option(help="Model ID from the catalog.")] = "plantain-mini",
) -> None:
    """Generate an image from a prompt, or edit --image by an instruction (default: the built-in model).

    Runs in this process through the same serving layer as `plantain serve`, without a server."""
    from plantain.core.catalog import CatalogError, load_catalog
    from plantain.core.requests import GenerationRequest, Turn
    from plantain.imaging.encode import write_atomic

    settings = get_settings()
    try:
        catalog = load_catalog(settings.catalog)
    except CatalogError as exc:
        raise fail(str(exc)) from exc
    entry = catalog.get(model)
    if entry is None:
        raise fail(f"unknown model {model!r}; the catalog has: {', '.join(catalog.models)}")
    if not prompt.strip():
        raise fail('the prompt is empty; say what to draw, e.g. plantain generate "a red circle"')
    paths = output_paths(output, n)
    check_writable(paths)
    images = [read_input(image)] if image is not None else []
    request = GenerationRequest(
        model=entry.id,
        turns=[Turn("user", [prompt], images)],
        modalities=frozenset({"IMAGE"}),
        width=size,
        height=size,
        candidate_count=n,
        seed=secrets.randbelow(2**31) if seed is None else seed,
        edits_need_an_image=False,
    )
    # Up to 16 images in one device batch, whatever the entry allows a remote client per request.
    entry = entry.model_copy(
        update={"max_candidates": max(n, entry.max_candidates), "max_batch": max(n, entry.max_batch)}
    )
    catalog.models[entry.id] = entry
    try:
        result = asyncio.run(run_with_progress(settings, catalog, request, editing=bool(images)))
    except ServiceError as exc:
        raise fail(exc.message) from exc
    for path, out in zip(paths, result.images, strict=True):
        try:
            write_atomic(path, out.data)
        except OSError as exc:
            raise fail(f"cannot write {path}: {exc.strerror or exc}") from exc
        typer.echo(f"wrote {path} ({out.width}x{out.height}, seed {out.seed})")


def read_input(path: Path) -> ImageInput:
    """An input image file as the serving layer takes it: bytes and a MIME type (decoded later)."""
    import mimetypes

    from plantain.core.requests import ImageInput

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from exc
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return ImageInput(data, mime, str(path))


async def run_with_progress(settings: Settings, catalog: Catalog, request: GenerationRequest, editing: bool) -> Result:
    from plantain.core.cancel import CancelToken
    from plantain.serving.service import Service

    service = Service(settings, catalog)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("loading the model", total=None)
            backend = await service.backend(service.entry(request.model))
            steps = backend.capabilities.steps
            progress.update(task, description="editing" if editing else "generating", total=steps, completed=0)

            def on_step(i: int, total: int) -> None:
                done = i + 1 >= total
                progress.update(task, completed=i + 1, total=total, description="encoding" if done else None)

            return await service.generate(request, CancelToken(), on_step)
    finally:
        service.close(wait=60)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8080,
    ray: Annotated[
        bool, typer.Option("--ray", help="Serve under Ray Serve: one deployment per catalog pipeline.")
    ] = False,
    address: Annotated[
        str | None, typer.Option(help="With --ray: the Ray cluster to join (default: start one on this machine).")
    ] = None,
    replicas: Annotated[
        int | None, typer.Option(help="With --ray: replicas of every pipeline (default: the catalog's).", min=1)
    ] = None,
    gpus_per_replica: Annotated[
        float | None, typer.Option(help="With --ray: GPUs each replica holds (default: the catalog's).", min=0)
    ] = None,
) -> None:
    """Serve the catalog over the Gemini (and Vertex), Imagen :predict and OpenAI Images APIs."""
    if not ray and (address or replicas or gpus_per_replica is not None):
        raise fail("--address, --replicas and --gpus-per-replica go with --ray")
    import uvicorn

    from plantain.api.app import create_app
    from plantain.core.catalog import CatalogError, load_catalog

    settings = get_settings()
    if settings.auth != "off" and not settings.keys and not store_has_keys(settings):
        if not is_loopback(host):
            raise fail(
                f"refusing to serve on {host} without API keys: set PLANTAIN_API_KEYS=key1,key2 "
                "(or PLANTAIN_AUTH=off to serve without authentication)"
            )
        err.print(
            "[yellow]warning:[/] no PLANTAIN_API_KEYS and no stored keys: serving without authentication on "
            "loopback only"
        )
        settings = settings.model_copy(update={"auth": "off"})
    try:
        catalog = load_catalog(settings.catalog)
        if ray:
            from plantain.ray_app import serve_forever

            serve_forever(settings, catalog, host, port, address, replicas, gpus_per_replica)
            return
        app_ = create_app(settings, catalog)
    except (CatalogError, ValueError) as exc:
        raise fail(str(exc)) from exc
    # On SIGTERM uvicorn stops accepting connections and lets the requests in flight finish (up to
    # PLANTAIN_DRAIN_SECONDS) before the app shuts down.
    from plantain.api.logs import configure

    configure(settings.log_format)
    uvicorn.run(app_, host=host, port=port, log_config=None, timeout_graceful_shutdown=int(settings.drain_seconds))


def open_store(settings: Settings) -> Database:
    from sqlalchemy.exc import SQLAlchemyError

    from plantain.store.db import open_database

    try:
        return open_database(settings.database_url, settings.data_dir)
    except (SQLAlchemyError, OSError) as exc:
        raise fail(f"cannot open the database: {str(exc).splitlines()[0]}") from exc


def store_has_keys(settings: Settings) -> bool:
    from plantain.store.keys import KeyStore

    database = open_store(settings)
    try:
        return KeyStore(database).any_live()
    finally:
        database.close()


db_app = typer.Typer(help="The store's database (keys, the usage ledger, files).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys kept in the store, with their limits.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (PLANTAIN_DATABASE_URL, default SQLite in the data folder) to the newest
    schema. `plantain serve` does it too, at start."""
    settings = get_settings()
    open_store(settings).close()
    from plantain.store.db import database_url

    url = database_url(settings.database_url, settings.data_dir)
    err.print(f"database at the newest schema: {url.split('@')[-1]}", highlight=False)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A name for the key, unique: who or what uses it.")],
    rpm: Annotated[int | None, typer.Option(help="Requests per minute at most.", min=1)] = None,
    images_per_day: Annotated[int | None, typer.Option(help="Images per UTC day at most.", min=1)] = None,
    budget_usd: Annotated[float | None, typer.Option(help="Spending limit in US dollars, in all.", min=0)] = None,
    models: Annotated[str | None, typer.Option(help="Model IDs it may use, comma separated (default: all).")] = None,
    admin: Annotated[bool, typer.Option(help="May call the /admin routes.")] = False,
) -> None:
    """Make a key and print it once: only a salted hash of it is stored."""
    from plantain.store.keys import KeyProblem, KeyStore, Limits

    allowed = tuple(m.strip() for m in models.split(",") if m.strip()) if models else None
    budget = round(budget_usd * 1_000_000) if budget_usd is not None else None
    database = open_store(get_settings())
    try:
        info, secret = KeyStore(database).create(name, Limits(rpm, images_per_day, budget, allowed), admin)
    except KeyProblem as exc:
        raise fail(str(exc)) from exc
    finally:
        database.close()
    err.print(f"key {info.name!r} created; it is shown once, keep it now:", highlight=False)
    print(secret)


@keys_app.command("list")
def keys_list() -> None:
    """Every key: name, prefix, limits, state. Never the keys themselves."""
    from rich.table import Table

    from plantain.store.keys import KeyStore

    database = open_store(get_settings())
    try:
        rows = KeyStore(database).list()
    finally:
        database.close()
    table = Table("name", "key starts", "admin", "rpm", "images/day", "budget USD", "models", "created", "state")
    for row, live in rows:
        budget = f"{row.budget_micro_usd / 1e6:.2f}" if row.budget_micro_usd is not None else ""
        table.add_row(
            row.name, f"pk-{row.prefix}", "yes" if row.admin else "", str(row.rpm or ""), str(row.images_per_day or ""),
            budget, row.models or "all", f"{row.created_at:%Y-%m-%d %H:%M}", "live" if live else "revoked",
        )  # fmt: skip
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: every server sharing the database refuses it from its next request."""
    from plantain.store.keys import KeyProblem, KeyStore

    database = open_store(get_settings())
    try:
        KeyStore(database).revoke(name)
    except KeyProblem as exc:
        raise fail(str(exc)) from exc
    finally:
        database.close()
    err.print(f"key {name!r} revoked", highlight=False)


@keys_app.command("rotate")
def keys_rotate(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Give a key a new secret (same name, limits and usage) and print it once; the old one stops
    working at once."""
    from plantain.store.keys import KeyProblem, KeyStore

    database = open_store(get_settings())
    try:
        secret = KeyStore(database).rotate(name)
    except KeyProblem as exc:
        raise fail(str(exc)) from exc
    finally:
        database.close()
    err.print(f"key {name!r} rotated; the new key is shown once, keep it now:", highlight=False)
    print(secret)


@app.command()
def usage(
    key: Annotated[str | None, typer.Option(help="Only this key's requests (its name).")] = None,
    since: Annotated[str | None, typer.Option(help="From this UTC date on (YYYY-MM-DD).")] = None,
    by: Annotated[str, typer.Option(help="Group by model, day or key.")] = "model",
    csv: Annotated[bool, typer.Option("--csv", help="Comma-separated values instead of a table.")] = False,
) -> None:
    """What was used and what it cost, from the usage ledger, at the catalog's prices."""
    import csv as csv_module
    import sys
    from datetime import UTC, datetime

    from plantain.core.prices import usd
    from plantain.store.keys import KeyStore
    from plantain.store.reports import usage_report

    if by not in ("model", "day", "key"):
        raise fail(f"--by must be model, day or key (got {by!r})")
    start = None
    if since is not None:
        try:
            start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError as exc:
            raise fail(f"--since must be a date like 2026-12-01 (got {since!r})") from exc
    database = open_store(get_settings())
    try:
        key_id = None
        if key is not None:
            found = [row for row, _ in KeyStore(database).list() if row.name == key]
            if not found:
                raise fail(f"no key is named {key!r}")
            key_id = found[0].id
        lines = usage_report(database, by, key_id, start)  # type: ignore[arg-type]
    finally:
        database.close()
    header = [by, "requests", "images", "input tokens", "output tokens", "cost USD"]
    rows = [[x.group, str(x.requests), str(x.images), str(x.input_tokens), str(x.output_tokens), usd(x.cost_micro_usd)]
            for x in lines]  # fmt: skip
    total = ["total", *(str(sum(int(r[i]) for r in rows)) for i in range(1, 5)),
             usd(sum(x.cost_micro_usd for x in lines))]  # fmt: skip
    if csv:
        writer = csv_module.writer(sys.stdout)
        writer.writerows([header, *rows, total])
        return
    from rich.table import Table

    table = Table(*header, title="Usage from the ledger")
    for row in [*rows, total]:
        table.add_row(*row)
    Console().print(table)


@app.command()
def env(
    markdown: Annotated[bool, typer.Option("--markdown", help="A Markdown table, as in docs/deploy.md.")] = False,
) -> None:
    """Every setting: its environment variable, its default and what it does."""
    from plantain.core.settings import environment

    rows = environment()
    if markdown:
        typer.echo("| variable | default | what it does |\n|---|---|---|")
        for var, default, what in rows:
            typer.echo(f"| `{var}` | {f'`{default}`' if default else ''} | {what} |")
        return
    from rich.table import Table

    table = Table("variable", "default", "what it does", title="Settings (environment variables)")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def parse_size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    width, sep, height = value.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise fail(f"--size must be WIDTHxHEIGHT, such as 1024x1024, not {value!r}")
    return int(width), int(height)


@app.command()
def verify(
    image: Annotated[Path, typer.Argument(help="The image to check (PNG, JPEG or WebP).", exists=True, dir_okay=False)],
    trust: Annotated[
        Path | None, typer.Option("--trust", help="A CA certificate (PEM) to trust as the manifest's signer's root.")
    ] = None,
    size: Annotated[
        str | None,
        typer.Option(
            "--size", help="Read the watermark at this size (WIDTHxHEIGHT): the image's own, if it was resized."
        ),
    ] = None,
) -> None:
    """Look for a Plantain image's marks: the invisible watermark and the C2PA manifest. Exits 0 when
    either is found, 1 when neither is."""
    import io

    from PIL import Image, UnidentifiedImageError

    from plantain.imaging.credentials import read_credentials
    from plantain.imaging.decode import sniff_mime_type
    from plantain.imaging.watermark import BITS, read

    data = image.read_bytes()
    try:
        with Image.open(io.BytesIO(data)) as im:
            reading = read(im, parse_size(size))
    except (UnidentifiedImageError, OSError) as exc:
        raise fail(f"{image} cannot be read as an image: {exc}") from exc
    console = Console(highlight=False)
    found = "[green]found[/green]" if reading.found else "[red]not found[/red]"
    console.print(f"Watermark: {found} ({reading.bits_matched} of {len(BITS)} bits)")
    credentials = read_credentials(data, sniff_mime_type(data), trust.read_bytes() if trust else None)
    if not credentials.found:
        console.print("Content credentials: [red]none[/red]")
    else:
        state = {"Trusted": "[green]trusted[/green]", "Valid": "valid, signer not trusted (--trust CA.pem)"}.get(
            credentials.state, f"[red]{credentials.state.lower() or 'invalid'}[/red]"
        )
        console.print(f"Content credentials: {state}")
        console.print(f"  generator: {credentials.generator}")
        console.print(f"  model: {credentials.model}")
        console.print(f"  signed by: {credentials.signer} ({credentials.issuer})")
        for problem in credentials.problems:
            console.print(f"  [red]{problem}[/red]")
    sound = credentials.found and credentials.state in ("Trusted", "Valid")
    raise typer.Exit(0 if reading.found or sound else 1)


batch_app = typer.Typer(help="Batch jobs: run a JSONL file here or on Ray, follow a job.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")


def job_id(name: str) -> str:
    return name.removeprefix("batches/").removeprefix("batch_")


def job_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} done, {task.fields[failed]} failed"),
        TimeElapsedColumn(),
        console=err,
    )


@batch_app.command("status")
def batch_status(
    job: Annotated[str, typer.Argument(help="The job: batches/ID, batch_ID (OpenAI's) or ID.")],
    watch: Annotated[bool, typer.Option("--watch", help="Follow the job with a progress bar until it ends.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between looks, with --watch.", min=0.1)] = 1.0,
) -> None:
    """A job's state and its done/failed/total requests, read from the store (any owner's job)."""
    import time

    from plantain.store.batches import TERMINAL, BatchStore

    database = open_store(get_settings())
    try:
        store = BatchStore(database)
        batch = store.find(job_id(job))
        if batch is None:
            raise fail(f"no batch job {job!r} in the store")
        counts = store.counts(batch.id)
        if watch:
            with job_progress() as bar:
                task = bar.add_task(f"batches/{batch.id}", total=counts.total, failed=counts.failed)
                while True:
                    bar.update(task, completed=counts.ok + counts.failed, failed=counts.failed)
                    if batch.state in TERMINAL:
                        break
                    time.sleep(interval)
                    batch = store.find(batch.id) or batch
                    counts = store.counts(batch.id)
        state = batch.state.removeprefix("BATCH_STATE_").lower()
        typer.echo(
            f"batches/{batch.id} {state} model={batch.model} done={counts.ok + counts.failed} "
            f"ok={counts.ok} failed={counts.failed} total={counts.total}"
        )
    finally:
        database.close()


@batch_app.command("run")
def batch_run(
    file: Annotated[
        Path | None, typer.Argument(help='JSONL input: one {"key": ..., "request": GenerateContentRequest} a line.')
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model ID (default: PLANTAIN_DEFAULT_MODEL, else the catalog's first).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Result JSONL (default: FILE.results.jsonl).")
    ] = None,
    use_ray: Annotated[
        bool, typer.Option("--ray", help="Run the items on Ray Data actors instead of in this process.")
    ] = False,
    address: Annotated[str | None, typer.Option(help="Ray cluster to join (default: start a local one).")] = None,
    workers: Annotated[int, typer.Option(help="Ray actors, each with its own copy of the model.", min=1)] = 1,
    resume: Annotated[str | None, typer.Option("--job", help="Resume this job instead of starting one.")] = None,
) -> None:
    """Run a batch job to its end and write its results: the same job, result lines and ledger rows
    as the Batch API's. Interrupted, it is resumed with --job (or by any server sharing the store)."""
    import json
    from datetime import timedelta

    from plantain.api.batches import GeminiBatches, check_items, items_of_file
    from plantain.core.catalog import load_catalog
    from plantain.imaging.encode import write_atomic
    from plantain.serving.batch_runner import BatchRunner
    from plantain.store.batches import BatchStore
    from plantain.store.files import FileStore

    if (file is None) == (resume is None):
        raise fail("give a JSONL file to run, or --job ID to resume a job")
    settings = get_settings()
    catalog = load_catalog(settings.catalog)
    database = open_store(settings)
    try:
        files = FileStore(
            database, settings.data_dir, timedelta(hours=settings.file_ttl_hours), settings.max_file_bytes
        )
        batches = BatchStore(database)
        if file is not None:
            name = model or settings.default_model or next(iter(catalog.models))
            entry = catalog.get(name)
            if entry is None:
                raise fail(f"no model {name!r} in the catalog")
            try:
                data = file.read_bytes()
                items = items_of_file(data, str(file))
                check_items(entry, items)
            except OSError as exc:
                raise fail(f"cannot read {file}: {exc.strerror}") from exc
            except ServiceError as exc:
                raise fail(exc.message) from exc
            stored = files.put_uploaded("env", file.name, data, "application/jsonl", "batch")
            echo = json.dumps({"fileName": f"files/{stored.id}"})
            batch = batches.create("env", None, entry.id, file.name, echo, stored.id, items)
        else:
            assert resume is not None
            found = batches.find(job_id(resume))
            if found is None:
                raise fail(f"no batch job {resume!r} in the store")
            batch = found
        runner = f"cli-{secrets.token_hex(6)}"
        lease = timedelta(seconds=settings.batch_lease_seconds)
        claimed = batches.claim(runner, lease, batch.id)
        if claimed is None:
            raise fail(f"batches/{batch.id} has ended or is being run by a server ({batch.state})")
        counts = batches.counts(batch.id)
        err.print(f"batches/{batch.id}: {counts.total} requests on {batch.model}" + (" (Ray)" if use_ray else ""))
        with job_progress() as bar:
            task = bar.add_task(f"batches/{batch.id}", total=counts.total, completed=counts.ok + counts.failed,
                                failed=counts.failed)  # fmt: skip

            def done(ok: bool) -> None:
                bar.update(task, advance=1, failed=bar.tasks[task].fields["failed"] + (0 if ok else 1))

            if use_ray:
                from plantain.serving.ray_batches import run_on_ray

                keep = lambda: batches.renew(batch.id, runner, lease)  # noqa: E731
                completed = run_on_ray(settings, batches, files, GeminiBatches(), claimed, address, workers, done, keep)
            else:
                from plantain.serving.service import Service

                service = Service(settings, catalog)
                local = BatchRunner(service, batches, files, [GeminiBatches()], catalog.models[batch.model].max_batch)
                local.name = runner
                try:
                    completed = asyncio.run(local.run_batch(claimed, done))
                finally:
                    service.close()
        final = batches.find(batch.id)
        if not completed or final is None or final.output_file is None:
            raise fail(f"batches/{batch.id} did not complete here ({final.state if final else 'deleted'})")
        result = files.read("env", final.output_file)
        if result is None:
            raise fail(f"the result file of batches/{batch.id} is gone")
        target = output or (
            file.with_suffix(".results.jsonl") if file is not None else Path(f"{batch.id}.results.jsonl")
        )
        write_atomic(target, result[1])
        counts = batches.counts(batch.id)
        err.print(f"batches/{batch.id}: {counts.ok} ok, {counts.failed} failed; results in {target}")
    finally:
        database.close()


if __name__ == "__main__":
    app()
