"""Screenshots of every page at 1440×900 and 1024×768, to check what a learner sees first.

    cd app && python -m dev.screenshots            # all pages, both sizes
    cd app && python -m dev.screenshots network    # some pages (their url paths; "" = Explore)

Serves the app (``dev.live_app.running_app``), opens each page in headless Debian chromium and
saves the first screen of it to test-artifacts/screens/<page>_<width>x<height>.png (the
viewport only: what shows before scrolling). Needs /usr/bin/chromium and playwright.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dev.live_app import running_app

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-artifacts" / "screens"
SIZES = ((1440, 900), (1024, 768))
PAGES = {
    "": "Explore",
    "network": "The whole network",
    "learning": "Watch CARAFE learn",
    "compressed": "Compressed channels",
    "compare": "Compare upsamplers",
    "how-it-works": "How it works",
    "sandbox": "Sandbox",
    "train-tiny": "Train a tiny CARAFE",
    "performance": "Performance",
}


def main(paths: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from tests.app.browser import CHROMIUM_ARGS, TIMEOUT_MS, settle, wait_layout_still

    OUT.mkdir(parents=True, exist_ok=True)
    with running_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.wait_for_selector("text=/Reassembly kernel of output pixel/")
        for path in paths or list(PAGES):
            nav = page.locator('[data-testid="stSidebarNav"]').get_by_text(PAGES[path])
            nav.click()
            page.wait_for_selector(f"h1:has-text('{PAGES[path].split(':')[0]}')")
            settle(page)
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                wait_layout_still(page)
                shot = OUT / f"{path or 'explore'}_{width}x{height}.png"
                page.screenshot(path=str(shot))
                print(shot)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
