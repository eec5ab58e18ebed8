"""End-to-end: `streamlit run app/main.py` headless + Debian's chromium driven by playwright.

One server and one browser page serve the whole module (module-scoped fixtures); each test is
one scenario on that page, in file order: the app opens, clicks select pixels, every page
renders, the guided tour walks with the keyboard, uploads (a corrupt one, a real one, a
second one), a second browser session, the favicon; the last test checks that no request of
any of them left 127.0.0.1/localhost (nothing from a font host or a CDN) and that no console
error was logged. Screenshots go to test-artifacts/ (git-ignored). Every wait is a playwright
``wait_for_*`` (tests/app/browser.py), none a fixed sleep.

Marked ``slow``: the README's ``pytest`` leaves them out, ``.ci/run`` runs them explicitly
(``pytest -m slow tests/app/test_browser.py``). Skips cleanly without /usr/bin/chromium or
the playwright package. Setup: `apt-get install -y chromium` and `pip install playwright`
(its own browser download is not needed).
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from carafe.inspect.imageio import MODEL_MIN_SIDE, load_image_file, sample_images
from tests.app.browser import (
    CHROMIUM_ARGS,
    CLICK_FRAME,
    TIMEOUT_MS,
    arm_seen,
    check_clean,
    click_image_pixel,
    full_screenshot,
    picture,
    scroll_main_to,
    seen,
    selected_output_pixel,
    settle,
    show_page,
    watch,
)
from tests.app.conftest import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
KERNEL_TITLE = "text=/Reassembly kernel of output pixel/"
PAGES = [
    ("network", "The whole network"),
    ("learning", "Watch CARAFE learn"),
    ("compressed", "Compressed channels"),
    ("compare", "Compare upsamplers"),
    ("how-it-works", "How it works"),
    ("sandbox", "Sandbox"),
    ("train-tiny", "Train a tiny CARAFE"),
    ("performance", "Performance"),
]

# What a fresh page shows first: the start-up message, or (if it was missed) the kernel.
_FIRST_SIGN = """() => {
    const text = document.body ? document.body.textContent : '';
    if (text.includes('Reassembly kernel of output pixel')) return 'kernel';
    if (/Preparing the CARAFE operator|Loading the model/.test(text)) return 'message';
    return false;
}"""


_KERNEL_OR_ERROR = """() => {
    if (document.querySelector('[data-testid="stException"], [data-testid="stAlertContentError"]'))
        return 'error';
    return document.body.textContent.includes('Reassembly kernel of output pixel') && 'kernel';
}"""


# Uploads inside the models' working range (smaller ones are upscaled into it), so the page
# states their own size: "image <rows>×<columns> px".
UPLOAD_W, UPLOAD_H = MODEL_MIN_SIDE + 32, MODEL_MIN_SIDE // 2 + 16
FIRST_SHOWN = f"image {UPLOAD_H}×{UPLOAD_W} px"  # mine.png, landscape
SECOND_SHOWN = f"image {UPLOAD_W}×{UPLOAD_H} px"  # two.png, the same turned portrait


def _png(width: int, height: int) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Session:
    """The shared browser page, what its start-up showed, and what every page recorded."""

    url: str
    page: object
    message_s: float | None  # seconds until the start-up message showed, None if never
    kernel_s: float  # seconds until the first kernel view
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    from dev.live_app import running_app

    try:
        with running_app() as url:
            yield url
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    # launch() gives chromium a fresh, temporary profile (no --user-data-dir needed)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _new_page(browser, session_lists: tuple[list, list], **context):
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    watch(page, *session_lists)
    return page


@pytest.fixture(scope="module")
def app(server, browser) -> Session:
    """The first session of a fresh server, opened on Explore once its first kernel shows.

    The first session does the heavy imports: the main area should say so at once.
    """
    outside: list[str] = []
    errors: list[str] = []
    page = _new_page(browser, (outside, errors), viewport={"width": 1500, "height": 2200})
    t0 = time.monotonic()
    page.goto(server)
    first = page.wait_for_function(_FIRST_SIGN, polling=50).json_value()
    message_s = time.monotonic() - t0 if first == "message" else None
    # the kernel view, or a traceback / st.error that would keep it away (fail at once then)
    shown = page.wait_for_function(_KERNEL_OR_ERROR, polling=50).json_value()
    kernel_s = time.monotonic() - t0
    if shown != "kernel":
        page.screenshot(path=str(ARTIFACTS / "start_up_failed.png"))
        problem = page.locator("[data-testid=stException], [data-testid=stAlertContentError]")
        pytest.fail(f"the app did not start: {problem.first.inner_text()[:2000]}")
    message = "none" if message_s is None else f"{message_s:.1f} s"
    print(f"start-up: message after {message}, first kernel after {kernel_s:.1f} s")
    settle(page)
    return Session(server, page, message_s, kernel_s, outside, errors)


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request):
    """A test that fails leaves a picture of the page it saw: test-artifacts/failed_<test>.png."""
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed and "app" in request.fixturenames:
        name = request.node.name.replace("[", "_").replace("]", "")
        try:
            request.getfixturevalue("app").page.screenshot(
                path=str(ARTIFACTS / f"failed_{name}.png"), full_page=True
            )
        except Exception as err:  # noqa: BLE001 - the test's own failure is what matters
            print(f"no screenshot of the failure: {err}")


def _kernel_title(page) -> str:
    return page.locator(KERNEL_TITLE).first.text_content()


def test_opens_on_explore_with_a_start_up_message(app):
    page = app.page
    assert app.message_s is not None, "the main area stayed blank while the app started"
    page.wait_for_selector("text=Explore: what does CARAFE predict?")
    check_clean(page, "explore")


def test_click_a_pixel_shows_its_kernel(app):
    """Clicks select the output pixel under the cursor: the first and the last screen pixel
    of output pixels' boxes (their boundaries), near and far from the selection."""
    page = app.page
    if page.locator("h1:has-text('Explore')").count() == 0:
        show_page(page, "Explore")
    image = page.frame_locator(CLICK_FRAME).locator("#image")
    image.scroll_into_view_if_needed()
    sample = load_image_file(next(iter(sample_images().values()))).array
    h, w = sample.shape[:2]
    stride_out = 4  # the finest step of the shipped model
    latencies = []
    targets = [(5, 7), (30, 2), (0, 0), (h // 4 - 1, w // 4 - 1), (17, 40), (44, 13)]
    for n, (oy, ox) in enumerate(targets * 2):
        last = n >= len(targets)  # second round: the box's last image pixel, near its far edge
        iy = oy * stride_out + (stride_out - 1 if last else 0)
        ix = ox * stride_out + (stride_out - 1 if last else 0)
        before = _kernel_title(page)
        # wherever the picture lies (its offset on the page may be fractional)
        x, y = click_image_pixel(page, iy, ix, within=0.9 if last else 0.1)
        want = f"Reassembly kernel of output pixel ({oy}, {ox})"
        t0 = time.monotonic()
        if before != want:
            try:
                page.wait_for_function(
                    "want => [...document.querySelectorAll('.gtitle')].some(t => "
                    "t.textContent === want)",
                    arg=want,
                    polling=20,
                    timeout=120_000,
                )
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "explore_click_failed.png"))
                raise AssertionError(
                    f"click {n} at {x:.1f}, {y:.1f}: {_kernel_title(page)!r}, want {want!r}"
                ) from None
            latencies.append(time.monotonic() - t0)
        settle(page)
        assert _kernel_title(page) == want, (n, _kernel_title(page), want)
        check_clean(page, f"explore after click {n}")
    page.screenshot(path=str(ARTIFACTS / "explore_clicked.png"))
    latencies.sort()
    print(
        f"{len(targets) * 2} clicks, each selected the pixel under the cursor; click -> "
        f"kernel view median {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s"
    )


_SELECTED = """want => {
    const value = label => document.querySelector(`input[aria-label="${label}"]`)?.value;
    return value('Output row y') === String(want[0]) && value('Output column x') === String(want[1]);
}"""


def _exact_click_targets(h: int, w: int, stride: int) -> list[tuple]:
    """(image row, image col, the output pixel it lies in, where in the pixel): every corner
    cell by its outermost image pixel, the last image row and column, the top-left image pixel
    of several cells (at its centre), and clicks just inside a pixel's edges."""
    oh, ow = h // stride, w // stride
    cells = [
        (0, 0, (0, 0)),
        (0, w - 1, (0, ow - 1)),
        (h - 1, 0, (oh - 1, 0)),
        (h - 1, w - 1, (oh - 1, ow - 1)),
        (h - 1, 21 * stride + 1, (oh - 1, 21)),  # the last image row
        (33 * stride + 2, w - 1, (33, ow - 1)),  # the last image column
    ]
    for oy, ox in ((5, 7), (17, 40), (30, 2), (44, 13), (1, 1), (oh - 2, ow - 2)):
        cells.append((oy * stride, ox * stride, (oy, ox)))  # the cell's top-left image pixel
    return [(iy, ix, want, 0.5) for iy, ix, want in cells] + [
        (1 * stride, 1 * stride, (1, 1), 0.05),  # just inside the cell's top-left edge
        (2 * stride - 1, 2 * stride - 1, (1, 1), 0.95),  # just inside its bottom-right edge
        (10 * stride, 3 * stride, (10, 3), 0.05),
    ]


def _click_exactly(page, name: str) -> list[str]:
    """Scroll the main area to a fractional offset, click every target, and check the selected
    output pixel after each; returns one line per click for the note."""
    page.set_viewport_size({"width": 1440, "height": 900})
    settle(page, quiet_s=0.5)
    pic = picture(page)
    top = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop")
    scrolled = scroll_main_to(page, top + pic["y"] - 160.37)
    h, w = pic["rows"], pic["cols"]
    lines = [f"{name}: image {h}x{w}, scrolled to {scrolled}"]
    for iy, ix, want, within in _exact_click_targets(h, w, stride=4):
        pic = picture(page)
        x, y = click_image_pixel(page, iy, ix, within)
        try:
            page.wait_for_function(_SELECTED, arg=list(want), polling=20, timeout=120_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"{name}_exact_click_failed.png"))
            raise AssertionError(
                f"{name}: image pixel ({iy}, {ix}) at ({x:.3f}, {y:.3f}), picture at "
                f"({pic['x']:.3f}, {pic['y']:.3f}): selected {selected_output_pixel(page)}, "
                f"want {want}"
            ) from None
        settle(page, quiet_s=0.5)
        assert selected_output_pixel(page) == want, (name, iy, ix)
        check_clean(page, f"{name} after clicking ({iy}, {ix})")
        lines.append(
            f"  image px ({iy}, {ix}) at page ({x:.3f}, {y:.3f}), picture top-left "
            f"({pic['x']:.4f}, {pic['y']:.4f}) -> output pixel {want}"
        )
    return lines


def test_clicks_are_exact_at_every_image_pixel_at_a_fractional_offset(app):
    """Explore's and the whole network's click pictures, the main area scrolled to a
    fractional offset: every corner cell, the last image row and column, and the top-left
    image pixel of several output cells select that cell (the picture sits at a fractional
    page position: a rounded offset would name the row above)."""
    page = app.page
    show_page(page, "Explore")
    lines = _click_exactly(page, "explore")
    show_page(page, "The whole network")
    lines += _click_exactly(page, "network")
    fractional = [ln for ln in lines if "picture top-left" in ln and ".0000)" not in ln]
    assert fractional, "the picture never sat at a fractional offset"
    (ARTIFACTS / "exact_clicks.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


@pytest.mark.parametrize("path, title", PAGES, ids=[path for path, _ in PAGES])
def test_page_renders(app, path, title):
    show_page(app.page, title)
    check_clean(app.page, path)
    full_screenshot(app.page, ARTIFACTS / f"{path}.png")


def test_guided_tour_walks_with_the_keyboard(app):
    """Focus a button, press Enter: from "Take the tour" through every step to the end."""
    page = app.page
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Take the tour").focus()
    page.keyboard.press("Enter")
    steps = 0
    while True:
        page.wait_for_selector("text=/Guided tour · step \\d+ of \\d+/")
        settle(page)
        check_clean(page, f"tour step {steps + 1}")
        steps += 1
        label = page.locator("text=/Guided tour · step/").first.text_content()
        full_screenshot(page, ARTIFACTS / f"tour_{steps}.png")
        finish = page.get_by_role("button", name="Finish the tour")
        if finish.count():
            finish.focus()
            page.keyboard.press("Enter")
            break
        page.get_by_role("button", name="Next tour step ▶").focus()
        page.keyboard.press("Enter")
        page.wait_for_function(
            "prev => ![...document.querySelectorAll('p, strong')].some(e => "
            "e.textContent === prev)",
            arg=label,
            polling=50,
        )
    assert steps >= 5, f"the tour had {steps} steps"
    settle(page)
    check_clean(page, "after the tour")


PHOTO_MODEL_LINE = "Runs the CARAFE photo model"
SCENE_MODEL_LINE = "Runs the CARAFE (the shipped model)"


def _sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def _choose_sample(page, label: str) -> None:
    """Pick a bundled sample in the sidebar's selectbox by its label."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("radio", name="Sample").check(force=True)
    settle(page)
    sidebar.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=label).click()
    settle(page)


def test_a_photo_sample_runs_the_photo_model_and_a_scene_the_scene_model(app):
    page = app.page
    show_page(page, "Explore")
    _choose_sample(page, "Retina (held-out photo)")
    page.wait_for_selector(f"text={PHOTO_MODEL_LINE}")
    settle(page)
    check_clean(page, "photo sample")
    body = page.locator("body").inner_text()
    assert "rebuilds the full-size maps from the half-size photo, no labels" in _sidebar_text(page)
    assert "No segmentation overlay: a photo model has no classes" in body
    assert "CARAFE puts" in body and "colour regions" in body
    page.screenshot(path=str(ARTIFACTS / "explore_photo_sample.png"))
    _choose_sample(page, "Shapes 1 (scene, 256 px)")
    page.wait_for_selector(f"text={SCENE_MODEL_LINE}")
    settle(page)
    assert "segments five shapes" in _sidebar_text(page)
    check_clean(page, "scene sample after a photo")


def test_an_uploaded_photo_runs_the_photo_model_with_its_pca_maps(app):
    page = app.page
    _explore_upload_mode(page)
    _upload(page, "coins.jpg", sample_images()["coins.jpg"].read_bytes())
    page.wait_for_selector("text=image 404×512 px")
    page.wait_for_selector(f"text={PHOTO_MODEL_LINE}")
    settle(page)
    check_clean(page, "photo upload")
    page.get_by_role("tab", name="Upsampled maps (PCA)").click()
    page.wait_for_selector("text=/Across region edges/")
    settle(page)
    check_clean(page, "photo upload, PCA tab")
    page.screenshot(path=str(ARTIFACTS / "explore_photo_upload.png"))
    # the learner can switch to the scene model on the same photo
    page.locator('[data-testid="stSidebar"]').get_by_text("shapes scenes").click()
    page.wait_for_selector(f"text={SCENE_MODEL_LINE}")
    settle(page)
    check_clean(page, "photo upload, scene model")


def _upload(page, name: str, data: bytes) -> None:
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": name, "mimeType": "image/png", "buffer": data}]
    )


def _explore_upload_mode(page) -> None:
    """Explore with the sidebar's image source on Upload and its file input there."""
    show_page(page, "Explore")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.locator('[data-testid="stSidebar"]').get_by_role("radio", name="Upload").check(force=True)
    page.wait_for_selector('input[type="file"]', state="attached")
    settle(page)


def test_corrupt_upload_shows_st_error(app):
    page = app.page
    _explore_upload_mode(page)
    _upload(page, "broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    page.wait_for_selector('[data-testid="stAlertContentError"]')
    settle(page)
    assert "broken.png" in page.locator('[data-testid="stAlertContentError"]').inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0


def _upload_mine(page) -> None:
    """Upload a real landscape PNG and wait for its analysis."""
    if page.locator('input[type="file"]').count() == 0:
        _explore_upload_mode(page)
    _upload(page, "mine.png", _png(UPLOAD_W, UPLOAD_H))
    page.wait_for_selector(f"text={FIRST_SHOWN}")
    settle(page)


def test_real_upload_is_analysed(app):
    _upload_mine(app.page)
    check_clean(app.page, "upload")


def test_second_upload_replaces_the_first_without_a_sample_flash(app):
    page = app.page
    if page.locator(f"text={FIRST_SHOWN}").count() == 0:
        _upload_mine(page)  # this test run alone
    sample_note = "a sample image is shown"
    assert page.locator(f"text=/{sample_note}/").count() == 0
    arm_seen(page, sample_note)
    _upload(page, "two.png", _png(UPLOAD_H, UPLOAD_W))
    page.wait_for_selector(f"text={SECOND_SHOWN}")
    assert not seen(page), "the sample image flashed while the second upload was loading"
    settle(page)
    check_clean(page, "second upload")
    page.screenshot(path=str(ARTIFACTS / "explore_upload.png"))


def test_a_second_session_still_sees_the_sample(app, browser):
    """Another browser session (own cookies and websocket) does not get the uploads."""
    other = _new_page(browser, (app.outside, app.errors))
    other.goto(app.url)
    other.wait_for_selector(KERNEL_TITLE)
    settle(other)
    check_clean(other, "second session")
    assert other.locator(f"text={FIRST_SHOWN}").count() == 0
    assert other.locator(f"text={SECOND_SHOWN}").count() == 0
    other.context.close()


def test_favicon_is_served_by_the_app(app):
    icon = app.page.evaluate("document.querySelector('link[rel*=icon]')?.href || ''")
    assert icon.startswith(app.url), f"favicon not served by the app: {icon!r}"


def test_nothing_left_this_machine_and_no_console_error(app):
    """Runs last: covers every request and console message of the tests above."""
    assert not app.outside, f"requests left this machine: {sorted(set(app.outside))[:5]}"
    assert not app.errors, f"console errors: {app.errors[:5]}"
