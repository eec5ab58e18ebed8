"""End-to-end: `streamlit run app/main.py` headless + Debian's chromium driven by playwright.

Opens the app, clicks a pixel of the image, checks the kernel view follows the click, visits
every page and saves screenshots to test-artifacts/ (git-ignored). Every request the pages
make is recorded: the test fails on any that leaves 127.0.0.1/localhost (nothing is fetched
from a font host or a CDN) and on any console error. Skips cleanly without
/usr/bin/chromium or the playwright package. Setup: `apt-get install -y chromium` and
`pip install playwright` (its own browser download is not needed).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from dev.live_app import running_app, wait_idle

from carafe.inspect.imageio import load_image_file, sample_images
from tests.app.conftest import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"


def _png(width: int, height: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def server():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    try:
        with running_app() as url:
            yield url
    except RuntimeError as e:
        pytest.fail(str(e))


def _check_clean(page, name: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"traceback on {name}"
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, f"error on {name}"


# Explore's clickable image lives in the component's iframe.
CLICK_FRAME = 'iframe[title="streamlit_image_coordinates.streamlit_image_coordinates"]'


def _kernel_title(page) -> str:
    return page.locator("text=/Reassembly kernel of output pixel/").first.text_content()


_LOCAL_HOSTS = ("127.0.0.1", "localhost")


def _watch(page, outside: list, errors: list) -> None:
    """Record requests that leave this machine and console errors of ``page``."""
    from urllib.parse import urlparse

    def on_request(req):
        url = urlparse(req.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in _LOCAL_HOSTS:
            outside.append(req.url)

    page.on("request", on_request)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))


def _full_screenshot(page, path: Path) -> None:
    """Resize the viewport to the page's height first, so the whole page is captured."""
    height = page.evaluate(
        "Math.max(...[...document.querySelectorAll('section.main, [data-testid=stMain], "
        "[data-testid=stMainBlockContainer]')].map(e => e.scrollHeight), 900)"
    )
    page.set_viewport_size({"width": 1440, "height": min(int(height) + 120, 12000)})
    time.sleep(0.8)
    page.screenshot(path=str(path), full_page=True)


def test_click_pixel_shows_its_kernel(server):
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    errors: list[str] = []

    ARTIFACTS.mkdir(exist_ok=True)
    # launch() gives chromium a fresh, temporary profile (no --user-data-dir needed)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1500, "height": 2200})
        _watch(page, outside, errors)
        # the server's first session does the heavy imports: a message shows at once
        t0 = time.time()
        page.goto(server)
        message_s = None
        while time.time() - t0 < 300:
            if (
                message_s is None
                and page.locator("text=/Preparing the CARAFE operator|Loading the model/").count()
            ):
                message_s = time.time() - t0
            if page.locator("text=/Reassembly kernel of output pixel/").count():
                break
            time.sleep(0.05)
        kernel_s = time.time() - t0
        print(f"start-up: message after {message_s} s, first kernel after {kernel_s:.1f} s")
        assert message_s is not None, "the main area stayed blank while the app started"
        page.wait_for_selector("text=Explore: what does CARAFE predict?", timeout=240_000)
        page.wait_for_selector("text=/Reassembly kernel of output pixel/", timeout=240_000)
        wait_idle(page)
        _check_clean(page, "explore")

        # Clicks select the output pixel under the cursor: the first and the last screen pixel
        # of output pixels' boxes (their boundaries), near and far from the selection.
        image = page.frame_locator(CLICK_FRAME).locator("#image")
        image.scroll_into_view_if_needed()
        sample = load_image_file(next(iter(sample_images().values()))).array
        h, w = sample.shape[:2]
        stride_in, stride_out, reach = 8, 4, 2  # the finest step of the shipped model, k = 5
        margin = reach * stride_in
        latencies = []
        targets = [(5, 7), (30, 2), (0, 0), (h // 4 - 1, w // 4 - 1), (17, 40), (44, 13)]
        for n, (oy, ox) in enumerate(targets * 2):
            box = image.bounding_box()
            zoom = box["width"] / (w + 2 * margin)  # CSS pixels per image pixel
            last = n >= len(targets)  # second round: the box's last screen pixel
            iy = oy * stride_out + (stride_out - 1 if last else 0)
            ix = ox * stride_out + (stride_out - 1 if last else 0)
            edge = (max(zoom, 1) - 1) if last else 0  # last CSS pixel of that image pixel
            # A mouse sits on whole screen pixels, and the browser paints the picture from
            # its rounded origin: click whole pixels from there, as a hand would.
            x = round(box["x"]) + int((margin + ix) * zoom + edge)
            y = round(box["y"]) + int((margin + iy) * zoom + edge)
            before = _kernel_title(page)
            page.mouse.click(x, y)
            want = f"Reassembly kernel of output pixel ({oy}, {ox})"
            t0 = time.time()
            if before != want:
                try:
                    page.wait_for_function(
                        "want => [...document.querySelectorAll('.gtitle')].some(t => "
                        "t.textContent === want)",
                        arg=want,
                        timeout=30_000,
                    )
                except Exception:
                    page.screenshot(path=str(ARTIFACTS / "explore_click_failed.png"))
                    raise AssertionError(
                        f"click {n} at {x:.1f}, {y:.1f}: {_kernel_title(page)!r}, want {want!r}"
                    ) from None
                latencies.append(time.time() - t0)
            wait_idle(page)
            assert _kernel_title(page) == want, (n, _kernel_title(page), want)
            _check_clean(page, f"explore after click {n}")
        page.screenshot(path=str(ARTIFACTS / "explore_clicked.png"))
        latencies.sort()
        print(
            f"{len(targets) * 2} clicks, each selected the pixel under the cursor; click -> "
            f"kernel view median {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s"
        )

        for path, title in [
            ("network", "The whole network"),
            ("learning", "Watch CARAFE learn"),
            ("compressed", "Compressed channels"),
            ("compare", "Compare upsamplers"),
            ("how-it-works", "How it works"),
            ("sandbox", "Sandbox"),
            ("train-tiny", "Train a tiny CARAFE"),
            ("performance", "Performance"),
        ]:
            # the sidebar navigation keeps the session (and the clicked pixel)
            page.locator('[data-testid="stSidebarNav"]').get_by_text(title).click()
            page.wait_for_selector(f"h1:has-text('{title}')", timeout=240_000)
            wait_idle(page)
            _check_clean(page, path)
            _full_screenshot(page, ARTIFACTS / f"{path}.png")

        # the guided tour, driven with the keyboard: focus a button, press Enter
        page.locator('[data-testid="stSidebar"]').get_by_role(
            "button", name="Take the tour"
        ).focus()
        page.keyboard.press("Enter")
        steps = 0
        while True:
            page.wait_for_selector("text=/Guided tour · step \\d+ of \\d+/", timeout=240_000)
            wait_idle(page)
            _check_clean(page, f"tour step {steps + 1}")
            steps += 1
            label = page.locator("text=/Guided tour · step/").first.text_content()
            _full_screenshot(page, ARTIFACTS / f"tour_{steps}.png")
            last = page.get_by_role("button", name="Finish the tour")
            if last.count():
                last.focus()
                page.keyboard.press("Enter")
                break
            page.get_by_role("button", name="Next tour step ▶").focus()
            page.keyboard.press("Enter")
            page.wait_for_function(
                "prev => ![...document.querySelectorAll('p, strong')].some(e => "
                "e.textContent === prev)",
                arg=label,
                timeout=240_000,
            )
        assert steps >= 5, f"the tour had {steps} steps"
        wait_idle(page)
        _check_clean(page, "after the tour")

        # uploads: a corrupt file gives st.error, a real one is analysed, and a second
        # browser session (own cookies and websocket) still sees the sample image
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Explore").click()
        wait_idle(page)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.locator('[data-testid="stSidebar"]').get_by_role("radio", name="Upload").check(
            force=True, timeout=240_000
        )
        page.wait_for_selector('input[type="file"]', state="attached", timeout=240_000)
        wait_idle(page)
        page.locator('input[type="file"]').set_input_files(
            files=[
                {
                    "name": "broken.png",
                    "mimeType": "image/png",
                    "buffer": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
                }
            ]
        )
        page.wait_for_selector('[data-testid="stAlertContentError"]', timeout=240_000)
        wait_idle(page)
        assert "broken.png" in page.locator('[data-testid="stAlertContentError"]').inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": "mine.png", "mimeType": "image/png", "buffer": _png(72, 40)}]
        )
        page.wait_for_selector("text=/image 40×72 px/", timeout=240_000)
        wait_idle(page)
        _check_clean(page, "upload")
        # a second upload replaces the first without flashing back to a sample image
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": "two.png", "mimeType": "image/png", "buffer": _png(40, 72)}]
        )
        flashed, t0 = False, time.time()
        while page.locator("text=/image 72×40 px/").count() == 0 and time.time() - t0 < 60:
            flashed |= page.locator("text=/a sample image is shown/").count() > 0
            time.sleep(0.02)
        assert page.locator("text=/image 72×40 px/").count() > 0
        assert not flashed, "the sample image flashed while the second upload was loading"
        wait_idle(page)
        other = browser.new_context().new_page()
        _watch(other, outside, errors)
        other.goto(server)
        other.wait_for_selector("text=/Reassembly kernel of output pixel/", timeout=240_000)
        wait_idle(other)
        assert other.locator("text=/image 40×72 px/").count() == 0
        page.screenshot(path=str(ARTIFACTS / "explore_upload.png"))
        icon = page.evaluate("document.querySelector('link[rel*=icon]')?.href || ''")
        browser.close()
    assert not outside, f"requests left this machine: {sorted(set(outside))[:5]}"
    assert not errors, f"console errors: {errors[:5]}"
    assert icon.startswith(server), f"favicon not served by the app: {icon!r}"
