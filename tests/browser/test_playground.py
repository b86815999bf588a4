"""The playground in a real browser (Debian's Chromium, headless, driven by Playwright) against a
real server: previews then an image, an upload edited, a three-turn conversation, a mask honoured
exactly, a wrong key, the running cost against the ledger, accessibility, a phone-sized screen."""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from plantain.core.prices import usd
from tests.server_process import API_KEY, ledger_rows, server_process

# A real server process and a browser: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("PLANTAIN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# Set to a folder to save a screenshot of each state (the pictures in docs/).
SHOTS = os.environ.get("PLANTAIN_SCREENSHOTS")
MODEL = "gemini-3.1-flash-lite-image"  # the mini model behind the name, priced as the hosted model
SEED = "4"
sync_api = pytest.importorskip("playwright.sync_api")
if CHROMIUM is None:
    pytest.skip("no Chromium: apt-get install chromium, or set PLANTAIN_CHROMIUM", allow_module_level=True)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("playground-data")


@pytest.fixture(scope="module")
def base(data_dir: Path) -> Iterator[str]:
    with server_process({"PLANTAIN_DATA_DIR": str(data_dir)}) as server:
        yield server.base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def open_page(browser: object, base: str, key: str = API_KEY, width: int = 1280, height: int = 900) -> object:
    page = browser.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:")) else outside.append(r.url))
    page.outside = outside
    page.goto(base + "/")
    page.get_by_label("API key").fill(key)
    page.get_by_label("API key").press("Tab")
    if key == API_KEY:
        page.get_by_label("Model").select_option(MODEL)
        # The mini model's edits read back as asked 85% of the time (docs/mini-model.md, "edits");
        # a fixed seed whose edits all land keeps these tests about the page, not the model.
        page.get_by_label("Seed").fill(SEED)
    return page


def shot(page: object, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def send(page: object, prompt: str, messages: int) -> object:
    """Type a prompt, send it with the keyboard, wait for the `messages`-th message's image."""
    box = page.get_by_role("textbox", name="Prompt")  # type: ignore[attr-defined]
    box.fill(prompt)
    box.press("Control+Enter")
    message = page.get_by_test_id("message").nth(messages - 1)  # type: ignore[attr-defined]
    message.locator("img").first.wait_for(timeout=60_000)
    return message


def pixels(page: object, image: object) -> Image.Image:
    src = image.get_attribute("src")  # type: ignore[attr-defined]
    return Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")


def png_file(path: Path, size: int = 1024) -> Path:
    im = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(im).ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill="red")
    im.save(path)
    return path


def test_a_prompt_shows_previews_then_an_image_of_the_chosen_size(browser: object, base: str) -> None:
    page = open_page(browser, base)
    page.get_by_label("Aspect ratio").select_option("16:9")
    page.get_by_label("Size").select_option("1K")
    message = send(page, "two red circles on a white background", 1)
    assert message.get_attribute("data-previews") == "2"  # both previews came before the image
    image = message.locator("img").first
    assert image.get_attribute("data-size") == "1376x768"
    assert pixels(page, image).size == (1376, 768)
    assert page.outside == []  # nothing requested from anywhere but this server
    shot(page, "generate")


def test_an_uploaded_image_is_edited(browser: object, base: str, tmp_path: Path) -> None:
    page = open_page(browser, base)
    page.get_by_label("Image to edit").set_input_files(str(png_file(tmp_path / "circle.png")))
    page.get_by_role("img", name="The image to edit").wait_for()
    message = send(page, "make the circle blue", 1)
    assert message.get_by_text("Edit: make the circle blue").count() == 1
    out = np.asarray(pixels(page, message.locator("img").first)).astype(int)
    centre = out[400:624, 400:624].reshape(-1, 3).mean(axis=0)
    assert centre[2] > centre[0] + 60, centre  # the red circle is blue now
    shot(page, "edit")


def test_a_three_turn_conversation_edits_the_last_image_each_time(browser: object, base: str) -> None:
    page = open_page(browser, base)
    send(page, "a red circle", 1)
    send(page, "make the circle green", 2)
    third = send(page, "change the background to black", 3)
    messages = page.get_by_test_id("message")
    assert messages.count() == 3
    assert [messages.nth(i).locator(".prompt").inner_text().startswith("Edit:") for i in range(3)] == [
        False,
        True,
        True,
    ]
    out = np.asarray(pixels(page, third.locator("img").first)).astype(int)
    corner = out[:64, :64].reshape(-1, 3).mean(axis=0)
    assert corner.max() < 60, corner  # the background is black now
    shot(page, "conversation")


def test_a_drawn_mask_keeps_everything_outside_it_exactly(browser: object, base: str, tmp_path: Path) -> None:
    source = png_file(tmp_path / "circle.png")
    page = open_page(browser, base)
    page.get_by_label("Image to edit").set_input_files(str(source))
    page.get_by_label("Draw a mask").check()
    canvas = page.get_by_test_id("mask-canvas")
    box = canvas.bounding_box()
    assert box is not None
    # Paint a band down the left third of the image.
    page.mouse.move(box["x"] + box["width"] * 0.15, box["y"] + 10)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(box["x"] + box["width"] * 0.15, box["y"] + box["height"] * step / 20)
    page.mouse.up()
    shot(page, "mask")
    message = send(page, "change the background to black", 1)
    out = np.asarray(pixels(page, message.locator("img").first))
    kept = np.asarray(Image.open(source).convert("RGB"))
    assert out.shape == kept.shape
    assert np.array_equal(out[:, 512:], kept[:, 512:])  # the unpainted right half, bit for bit
    assert not np.array_equal(out[:, :200], kept[:, :200])  # the painted band was redrawn


def test_an_image_dropped_or_pasted_becomes_the_image_to_edit(browser: object, base: str, tmp_path: Path) -> None:
    data = base64.b64encode(png_file(tmp_path / "circle.png", 64).read_bytes()).decode()
    page = open_page(browser, base)
    # What a browser does when a file is dropped on the zone, or pasted into the prompt.
    make = f"new File([Uint8Array.from(atob('{data}'), c => c.charCodeAt(0))], 'c.png', {{type: 'image/png'}})"
    page.evaluate(
        f"""() => {{ const t = new DataTransfer(); t.items.add({make});
        document.querySelector('[data-testid=drop-zone]').dispatchEvent(
            new DragEvent('drop', {{dataTransfer: t, bubbles: true, cancelable: true}})); }}"""
    )
    page.get_by_role("img", name="The image to edit").wait_for()
    page.get_by_role("button", name="Remove image").click()
    page.evaluate(
        f"""() => {{ const t = new DataTransfer(); t.items.add({make});
        document.querySelector('textarea').dispatchEvent(
            new ClipboardEvent('paste', {{clipboardData: t, bubbles: true, cancelable: true}})); }}"""
    )
    page.get_by_role("img", name="The image to edit").wait_for()
    assert page.get_by_role("button", name="Edit", exact=True).count() == 1


def test_a_spent_quota_shows_a_readable_error(browser: object, base: str, data_dir: Path) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "plantain.cli", "keys", "create", "--name", "one-image", "--images-per-day", "1"],
        env={**os.environ, "PLANTAIN_DATA_DIR": str(data_dir)}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    page = open_page(browser, base, key=made.stdout.strip())
    page.get_by_label("Model").select_option(MODEL)
    send(page, "a red circle", 1)
    page.get_by_role("textbox", name="Prompt").fill("make the circle blue")
    page.get_by_role("button", name="Edit", exact=True).click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("Limit reached:") and "image" in alert.inner_text()
    shot(page, "quota")


def test_a_wrong_key_shows_a_readable_error(browser: object, base: str) -> None:
    page = open_page(browser, base, key="not-a-key")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "API key was not accepted" in alert.inner_text()
    shot(page, "wrong-key")


def test_the_running_cost_adds_up_to_the_ledger(browser: object, base: str, data_dir: Path) -> None:
    before = {r.id for r in ledger_rows(data_dir)}
    page = open_page(browser, base)
    page.get_by_label("Variants").fill("2")
    send(page, "three pink diamonds", 1)
    send(page, "make the diamonds blue", 2)
    page.get_by_test_id("message").nth(1).locator("img").nth(1).wait_for()
    new = [r for r in ledger_rows(data_dir) if r.id not in before]
    assert len(new) == 2 and all(r.cost_micro_usd > 0 for r in new)
    shown = page.get_by_test_id("total").inner_text()
    assert shown == f"${usd(sum(r.cost_micro_usd for r in new))}"
    assert Decimal(shown[1:]) > 0


def test_no_serious_accessibility_violations(browser: object, base: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(browser, base)
    send(page, "a blue square at the top left", 1)
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], [(v["id"], v["help"]) for v in serious]


def test_it_works_on_a_phone_sized_screen(browser: object, base: str) -> None:
    page = open_page(browser, base, width=390, height=844)
    message = send(page, "three yellow squares", 1)
    assert message.locator("img").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the side
    shot(page, "phone")
