"""How fast does Explore answer a click? Server-side and in a real browser, as medians.

    cd app && python -m dev.bench_clicks                 # both; needs Debian's chromium
    cd app && python -m dev.bench_clicks --server-only   # the server-side work per click only

(Run from app/, as Streamlit runs the pages, so ``state`` and ``figures`` import as there.)

Server side: the work the pixel fragment does for one clicked pixel (kernel view, the clickable
picture drawn and encoded, the three-way comparison, DySample's sampling point when shipped, building and serialising the figures),
timed for many pixels of the first sample image. Browser side: ``streamlit run`` on a local
port, headless Chromium clicks pixels of the picture (in its component frame) and waits until the kernel title names the
new pixel ("kernel"), then until the app stops running ("page done"). A benchmark, not a test:
it prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import figures.kernels as kernel_figs
import numpy as np
import state
from figures.click_image import click_canvas
from PIL import Image

from carafe.inspect.analysis import analyze
from carafe.inspect.catalog import load_model
from carafe.inspect.imageio import load_image_file, sample_images
from carafe.inspect.kernel_compare import compare_pixel
from carafe.inspect.pixel import kernel_view
from dev.live_app import NEW_KERNEL_TITLE, running_app, wait_idle

# Explore's clickable picture lives in the component's iframe.
CLICK_FRAME = 'iframe[title="figures.click_image.carafe_click_image"]'


def _ms(samples: list[float]) -> str:
    return f"{1000 * statistics.median(samples):7.1f} ms median, {1000 * max(samples):7.1f} ms max"


def server_side(clicks: int = 40) -> list[float]:
    """Seconds of per-click server work for ``clicks`` random output pixels."""
    image = load_image_file(next(iter(sample_images().values()))).array
    a = analyze(load_model(state.checkpoint_names()[0]), image)
    step = a.steps[-1]
    channel = int(step.channel_order[0])
    rng = np.random.default_rng(0)
    oh, ow = step.output_shape
    times = []
    for _ in range(clicks):
        y, x = int(rng.integers(oh)), int(rng.integers(ow))
        t0 = time.perf_counter()
        v = kernel_view(step, y, x)
        canvas = click_canvas(a.image, a.segmentation, 0.45, v, margin=2 * step.stride_in)
        Image.fromarray(canvas.rgb).save(io.BytesIO(), format="JPEG", quality=92)  # as sent
        cmp = compare_pixel(step, y, x, channel, a.segmentation)
        figs = [
            kernel_figs.kernel_figure(
                v.kernel, f"Reassembly kernel of output pixel ({y}, {x})", zmax=1.0
            ),
            kernel_figs.comparison_figure(cmp, a.class_names),
        ]
        for fig in figs:
            fig.to_json()  # what Streamlit sends
        times.append(time.perf_counter() - t0)
    return times


def browser_side(clicks: int = 12) -> tuple[list[float], list[float], list[float]]:
    """(click -> kernel title updated, click -> app idle, typed row -> kernel title updated)
    in seconds, headless Chromium."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    kernel, done, typed = [], [], []
    with running_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1500, "height": 2200})
        page.goto(url, timeout=120_000)
        page.wait_for_selector("text=/Reassembly kernel of output pixel/", timeout=240_000)
        wait_idle(page, quiet=2.0, timeout=120, poll=0.02)
        title = page.locator("text=/Reassembly kernel of output pixel/").first
        picture = page.frame_locator(CLICK_FRAME).locator("#image")
        rng = np.random.default_rng(1)
        for _ in range(clicks):
            before = title.text_content()
            box = picture.bounding_box()
            fx, fy = rng.uniform(0.15, 0.85, 2)
            x, y = round(box["x"] + box["width"] * fx), round(box["y"] + box["height"] * fy)
            page.mouse.click(x, y)
            t0 = time.time()
            try:
                page.wait_for_function(NEW_KERNEL_TITLE, arg=before, polling=10, timeout=20_000)
            except PlaywrightTimeout:
                continue  # the click landed on the pixel already shown
            kernel.append(time.time() - t0)
            wait_idle(page, quiet=0.3, timeout=120, poll=0.02)
            done.append(time.time() - t0 - 0.3)
        row = page.get_by_role("spinbutton", name="Output row y")
        for value in rng.integers(0, 16, clicks // 2):
            before = title.text_content()
            row.fill(str(value))
            row.press("Enter")
            t0 = time.time()
            try:
                page.wait_for_function(NEW_KERNEL_TITLE, arg=before, polling=10, timeout=20_000)
            except PlaywrightTimeout:
                continue  # the same row as before
            typed.append(time.time() - t0)
            wait_idle(page, quiet=0.3, timeout=120, poll=0.02)
        browser.close()
    return kernel, done, typed


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--server-only", action="store_true")
    p.add_argument("--clicks", type=int, default=12, help="clicks in the browser")
    args = p.parse_args()
    print(f"server side, work per click (40 pixels): {_ms(server_side())}")
    if not args.server_only:
        kernel, done, typed = browser_side(args.clicks)
        if kernel:
            print(f"browser, click -> kernel view ({len(kernel)} clicks): {_ms(kernel)}")
            print(f"browser, click -> page done  ({len(done)} clicks): {_ms(done)}")
        else:
            print("browser: no click changed the pixel")
        if typed:
            print(f"browser, typed row -> kernel view ({len(typed)} rows): {_ms(typed)}")


if __name__ == "__main__":
    main()
