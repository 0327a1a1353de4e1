"""The page in headless Chromium (Debian's package, driven by Playwright): upload, slider, rating, history, colour
hints."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorize.lab import lab_to_rgb, rgb_to_lab, uint8_to_tensor
from colorize.web import ServeConfig, create_app
from conftest import skimage_photo
from web_support import running_server, tiny_colorizer, tiny_model

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path("/tmp/colorize_web_result.png")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
expect = playwright_api.expect


def tinted_colorizer(name: str, seed: int, tint: tuple[float, float]):
    """A tiny random model whose last layer is biased towards one hue, so "coloured" is visible and testable."""
    model = tiny_model(seed)
    last = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))][-1]
    with torch.no_grad():
        last.bias.copy_(torch.tensor(tint))
    return tiny_colorizer(name, model=model)


@pytest.fixture
def server_url(tmp_path):
    colorizers = [tinted_colorizer("warm", 1, (0.3, 0.4)), tinted_colorizer("cool", 2, (-0.2, -0.4))]
    with running_server(create_app(ServeConfig(storage=str(tmp_path / "data")), colorizers=colorizers)) as url:
        yield url


@pytest.fixture
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


DATA_TRANSFER_JS = """([b64, name]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
    return transfer;
}"""

COLOURFULNESS_JS = """(selector) => {
    const img = document.querySelector(selector);
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let spread = 0;
    for (let i = 0; i < px.length; i += 4) spread += Math.abs(px[i] - px[i + 1]) + Math.abs(px[i + 1] - px[i + 2]);
    return spread / (px.length / 4);
}"""


def open_app(browser, url: str, width: int, height: int):
    """A fresh page (its own cookies) on the app, ready; and the list its script errors and console errors go to."""
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    return page, errors


def test_upload_slide_rate_and_find_the_rating_after_reload(server_url, browser, tmp_path):
    photo = tmp_path / "grandpa 1948.jpg"
    Image.fromarray(skimage_photo("astronaut", 96)).convert("L").save(photo, quality=92)
    page, errors = open_app(browser, server_url, 1000, 900)
    assert page.is_visible("#tab-compare")  # two models: the blind comparison is offered

    page.set_input_files("#file-input", str(photo))
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    assert page.text_content("#result-name") == "grandpa 1948.jpg"
    assert page.evaluate(COLOURFULNESS_JS, "#before-img") < 2  # the upload is gray...
    assert page.evaluate(COLOURFULNESS_JS, "#after-img") > 10  # ...the result is in colour
    assert page.get_attribute("#download", "href").endswith("/download")

    # Drag the slider from the middle to the left: less of the original, more of the result.
    box = page.locator("#compare").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, y, steps=8)
    page.mouse.up()
    assert float(page.input_value("#slider")) < 30
    assert page.evaluate("getComputedStyle(document.getElementById('compare')).getPropertyValue('--pos')").strip() \
        == f"{page.input_value('#slider')}%"

    page.click("label[for=star-4]")
    page.fill("#comment", "The sky looks right")
    page.click("#rate-submit")
    expect(page.locator("#rating-status")).to_contain_text("Saved")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.click("#tab-history")
    rated = page.wait_for_selector(".history-item .h-stars[data-stars='4']")
    assert rated.text_content() == "★★★★☆"
    assert "The sky looks right" in page.text_content("#history")
    assert "grandpa 1948.jpg" in page.text_content("#history")
    assert errors == []


def test_errors_are_shown_and_a_blind_pair_can_be_voted(server_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844})  # phone-sized
    page.goto(server_url)
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways

    fake = tmp_path / "holiday.png"
    fake.write_text("this is not a picture")
    page.set_input_files("#file-input", str(fake))
    page.wait_for_selector("#error:not([hidden])")
    assert "Not a recognised image" in page.text_content("#error-text")

    # Drag and drop: a File in a DataTransfer, dropped on the drop zone.
    photo = tmp_path / "street.jpg"
    Image.fromarray(skimage_photo("coffee", 64)).convert("L").save(photo)
    transfer = page.evaluate_handle(DATA_TRANSFER_JS, [base64.b64encode(photo.read_bytes()).decode(), "street.jpg"])
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    assert page.text_content("#result-name") == "street.jpg"
    assert page.is_hidden("#error")  # the earlier error is gone

    page.click("#tab-compare")
    page.click("#pair-new")
    page.wait_for_selector("#pair:not([hidden])", timeout=60_000)
    assert page.text_content("#pair-left-name") == ""  # blind until the vote
    page.click("#pair button[data-winner=left]")
    expect(page.locator("#pair-left-name")).not_to_have_text("")
    assert {page.text_content("#pair-left-name"), page.text_content("#pair-right-name")} == {"warm", "cool"}

    page.click("#tab-leaderboard")
    page.wait_for_selector("#board-votes tr")
    assert page.text_content("#board-total") == "1"
    assert "1–0–0" in page.text_content("#board-votes")


def upload_on_page(page, path: Path) -> str:
    """Upload `path` through the file input; returns the result id from the address bar."""
    page.set_input_files("#file-input", str(path))
    expect(page.locator("#result-name")).to_have_text(path.name, timeout=60_000)
    page.wait_for_function("/^#result=[0-9a-f]{32}$/.test(location.hash)")
    return page.evaluate("location.hash").split("=", 1)[1]


def test_a_second_browser_cannot_see_a_photo_until_it_is_shared_and_delete_removes_it(server_url, browser, tmp_path):
    photo = tmp_path / "private.jpg"
    Image.fromarray(skimage_photo("coffee", 64)).convert("L").save(photo)
    owner = browser.new_page()  # each new_page is its own browser context: its own cookies
    owner.goto(server_url)
    owner.wait_for_selector("body[data-ready=true]")
    result_id = upload_on_page(owner, photo)

    stranger = browser.new_page()
    stranger.goto(f"{server_url}/#result={result_id}")
    stranger.wait_for_selector("body[data-ready=true]")
    assert stranger.is_hidden("#result")
    assert "No result" in stranger.text_content("#error-text")
    stranger.click("#tab-history")
    stranger.wait_for_selector("#history-empty:not([hidden])")
    assert stranger.locator(".history-item").count() == 0
    status = stranger.evaluate(f"fetch('/api/results/{result_id}/original/preview').then((r) => r.status)")
    assert status == 404

    owner.click("#share")
    owner.wait_for_selector("#share-status:not([hidden])")
    link = owner.input_value("#share-link")
    assert "#shared=" in link
    stranger.goto(link)
    stranger.wait_for_selector("body[data-ready=true]")
    expect(stranger.locator("#result-name")).to_have_text("private.jpg")
    assert stranger.is_hidden("#delete") and stranger.is_hidden("#rating-form")  # read-only

    owner.once("dialog", lambda dialog: dialog.accept())
    owner.click("#delete")
    owner.wait_for_selector("#result", state="hidden")
    assert owner.evaluate("location.hash") == ""
    owner.click("#tab-history")
    owner.wait_for_selector("#history-empty:not([hidden])")
    stranger.reload()
    stranger.wait_for_selector("body[data-ready=true]")
    assert stranger.is_hidden("#result") and stranger.is_visible("#error")


def test_page_problems_stay_fixed(server_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 800, "height": 600})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server_url)
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_attribute("#model-card-link", "href") == "/model-card"

    # A portrait photo: after the scroll to the result, its top is on screen.
    portrait = tmp_path / "portrait.jpg"
    Image.fromarray(skimage_photo("astronaut", 96)).convert("L").resize((60, 400)).save(portrait)
    first = upload_on_page(page, portrait)
    page.wait_for_timeout(800)  # let the smooth scroll finish
    assert page.evaluate("document.getElementById('compare').getBoundingClientRect().top") >= 0

    # Arrow keys move the stars the way they look: right is more.
    page.click("label[for=star-3]")
    page.keyboard.press("ArrowRight")
    assert page.is_checked("#star-4")
    assert page.locator("#stars label.filled").count() == 4
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.is_checked("#star-2")

    # After a saved rating the form starts over: a new star does not re-send the old comment.
    page.fill("#comment", "first thoughts")
    page.click("#rate-submit")
    expect(page.locator("#rating-status")).to_contain_text("Saved")
    assert page.input_value("#comment") == "" and not page.is_checked("#star-2")
    assert page.is_disabled("#rate-submit")

    # Cancelling "Colorize another" keeps the current result.
    with page.expect_file_chooser():
        page.click("#again")
    page.wait_for_timeout(200)
    assert page.is_visible("#result") and page.text_content("#result-name") == "portrait.jpg"

    # A 39999 x 1 scan keeps a usable before/after area.
    strip = tmp_path / "strip.png"
    Image.new("L", (39999, 1), 128).save(strip)
    upload_on_page(page, strip)
    box = page.locator("#compare").bounding_box()
    assert box["height"] > 50 and box["width"] > 50

    # Pasting another #result= link shows that result.
    page.evaluate(f"location.hash = '#result={first}'")
    expect(page.locator("#result-name")).to_have_text("portrait.jpg")
    assert errors == []


def test_api_docs_render_without_the_internet(server_url, browser):
    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(server_url) else None)
    page.goto(f"{server_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("colorize", timeout=30_000)
    assert page.locator(".opblock").count() > 10  # the operations are listed
    assert outside == []


HINT_COLOUR_JS = """() => document.getElementById('hint-color').value"""


def photo_point(page, x: int, y: int, size: tuple[int, int]) -> tuple[float, float]:
    """Where pixel (x, y) of a `size` photo is on the screen: the hint layer shows the photo with object-fit contain."""
    box = page.locator("#hint-layer").bounding_box()
    scale = min(box["width"] / size[0], box["height"] / size[1])
    left, top = (box["width"] - size[0] * scale) / 2, (box["height"] - size[1] * scale) / 2
    return box["x"] + left + (x + 0.5) * scale, box["y"] + top + (y + 0.5) * scale


def lab_image(png: bytes) -> np.ndarray:
    rgb = np.array(Image.open(io.BytesIO(png)).convert("RGB"))
    return rgb_to_lab(uint8_to_tensor(rgb[None]))[0].permute(1, 2, 0).numpy()


def test_a_hint_placed_on_the_photo_colours_the_result_there(server_url, browser, tmp_path):
    gray = np.full((48, 64), 128, np.uint8)
    gray[:, 48:] = 40
    photo = tmp_path / "flat.png"
    Image.fromarray(gray).save(photo)
    # The hint's colour has the photo's lightness there, so it is in gamut and L need not change.
    l_gray = float(lab_image(photo.read_bytes())[24, 20, 0])
    target = lab_to_rgb(torch.tensor([l_gray, -12.0, -30.0]).view(1, 3, 1, 1))[0, :, 0, 0]
    colour = "#" + "".join(f"{round(float(c) * 255):02x}" for c in target)
    hint_lab = lab_image(_png(colour))[0, 0]

    page, errors = open_app(browser, server_url, 900, 900)
    automatic = upload_on_page(page, photo)
    page.click("#hints-toggle")
    assert page.get_attribute("#hints-toggle", "aria-expanded") == "true"

    # Click to place a hint, drag it to where it belongs; the picker starts at the result's own colour there.
    page.mouse.click(*photo_point(page, 8, 8, (64, 48)))
    expect(page.locator(".hint-marker")).to_have_count(1)
    prefilled = page.evaluate(HINT_COLOUR_JS)
    assert len({prefilled[1:3], prefilled[3:5], prefilled[5:7]}) > 1  # a colour, the warm model's, not gray
    page.mouse.move(*photo_point(page, 8, 8, (64, 48)))
    page.mouse.down()
    page.mouse.move(*photo_point(page, 20, 24, (64, 48)), steps=6)
    page.mouse.up()
    assert "at 20, 24" in page.get_attribute(".hint-marker", "aria-label")

    page.fill("#hint-color", colour)
    page.click("#recolorize")
    expect(page).not_to_have_url(re.compile(f"#result={automatic}$"))
    expect(page.locator("#hint-status")).to_contain_text("1 hint")
    guided = page.evaluate("location.hash").split("=", 1)[1]
    lab = lab_image(page.request.get(f"{server_url}/api/results/{guided}/image").body())
    around = lab[23:26, 19:22].reshape(-1, 3)
    assert np.abs(around[:, 1:] - hint_lab[1:]).max() < 4.0  # the hint's hue...
    assert np.abs(around[:, 0] - l_gray).max() < 2.0  # ...at the photo's own lightness
    assert "1 colour hint" in page.text_content("#result-info")

    # Undo (Ctrl-Z) brings the picked colour back; removing the hint goes back to the automatic result.
    page.keyboard.press("Control+z")
    assert page.evaluate(HINT_COLOUR_JS) == prefilled
    page.click("#hint-remove")
    expect(page.locator(".hint-marker")).to_have_count(0)
    expect(page).to_have_url(re.compile(f"#result={automatic}$"))

    # By keyboard: "Add a hint" puts one in the middle and focuses it; arrows move it, Delete removes it.
    page.click("#hint-add")
    page.keyboard.press("ArrowRight")
    assert "at 33, 24" in page.get_attribute(".hint-marker", "aria-label")
    page.keyboard.press("Delete")
    expect(page.locator(".hint-marker")).to_have_count(0)
    assert errors == []


def _png(colour: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), colour).save(buf, format="PNG")
    return buf.getvalue()


def test_hints_work_by_touch_on_a_phone(server_url, browser, tmp_path):
    photo = tmp_path / "phone.jpg"
    Image.fromarray(skimage_photo("coffee", 64)).convert("L").save(photo)
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(server_url)
    page.wait_for_selector("body[data-ready=true]")
    upload_on_page(page, photo)
    page.tap("#hints-toggle")
    size = page.evaluate("[document.getElementById('after-img').naturalWidth, "
                         "document.getElementById('after-img').naturalHeight]")
    page.touchscreen.tap(*photo_point(page, size[0] // 2, size[1] // 3, tuple(size)))
    expect(page.locator(".hint-marker")).to_have_count(1)
    assert f"at {size[0] // 2}, {size[1] // 3}" in page.get_attribute(".hint-marker", "aria-label")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
