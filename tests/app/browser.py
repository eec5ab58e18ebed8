"""Waits and checks for the real-browser tests (tests/app/test_browser.py).

Every wait here is a playwright ``wait_for_*`` whose condition is evaluated inside the page
(so polling does not scan the DOM from Python, which on 2 cores slows the page it waits for):
no fixed sleeps. Times that must have passed ("the app has been idle for 2 s") are measured
in the page against ``performance.now()`` timestamps it keeps itself.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

# Debian's chromium, headless: no sandbox (containers), no GPU, no calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 600_000  # one wait: generous, a 2-core CPU shared with training runs is slow

# Streamlit shows this widget ("Running...") while a script run is in progress.
_SETTLED = """quiet => {
    const now = performance.now();
    if (document.querySelector('[data-testid="stStatusWidget"]')) {
        window.__carafeBusyAt = now;
        return false;
    }
    if (window.__carafeBusyAt === undefined) window.__carafeBusyAt = now;
    return now - window.__carafeBusyAt >= quiet;
}"""

# The size of the page and of every drawn figure: unchanged for ``quiet`` ms means the
# layout has caught up with a viewport change (plotly redraws its SVGs after a resize).
_LAYOUT_STILL = """quiet => {
    const boxes = [...document.querySelectorAll('svg.main-svg, iframe, img, canvas')].map(e => {
        const r = e.getBoundingClientRect();
        return [Math.round(r.width), Math.round(r.height)];
    });
    const shape = JSON.stringify([document.documentElement.scrollHeight, boxes]);
    const now = performance.now();
    if (shape !== window.__carafeLayout) {
        window.__carafeLayout = shape;
        window.__carafeLayoutAt = now;
        return false;
    }
    return now - window.__carafeLayoutAt >= quiet;
}"""

_LOCAL_HOSTS = ("127.0.0.1", "localhost")


def settle(page, quiet_s: float = 2.0, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the app's running indicator has been gone for ``quiet_s`` seconds in a row.

    The quiet time counts from this call: a run that starts a moment after an action (the
    websocket round trip) shows the indicator within it and restarts the count.
    """
    page.evaluate("() => { delete window.__carafeBusyAt; }")
    page.wait_for_function(_SETTLED, arg=quiet_s * 1000, polling=50, timeout=timeout_ms)


def wait_layout_still(page, quiet_s: float = 0.5, timeout_ms: int = 60_000) -> None:
    """Wait until the page's size and its figures' sizes have not changed for ``quiet_s``."""
    page.evaluate("() => { delete window.__carafeLayout; }")
    page.wait_for_function(_LAYOUT_STILL, arg=quiet_s * 1000, polling=50, timeout=timeout_ms)


def full_screenshot(page, path: Path) -> None:
    """Resize the viewport to the page's height first, so the whole page is captured."""
    height = page.evaluate(
        "Math.max(...[...document.querySelectorAll('section.main, [data-testid=stMain], "
        "[data-testid=stMainBlockContainer]')].map(e => e.scrollHeight), 900)"
    )
    page.set_viewport_size({"width": 1440, "height": min(int(height) + 120, 12000)})
    wait_layout_still(page)
    page.screenshot(path=str(path), full_page=True)


def check_clean(page, name: str) -> None:
    """No traceback and no st.error on the page."""
    assert page.locator('[data-testid="stException"]').count() == 0, f"traceback on {name}"
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, f"error on {name}"


def watch(page, outside: list[str], errors: list[str]) -> None:
    """Record the requests of ``page`` that leave this machine, and its console errors."""

    def on_request(req):
        url = urlparse(req.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in _LOCAL_HOSTS:
            outside.append(req.url)

    page.on("request", on_request)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))


def show_page(page, nav_label: str, heading: str | None = None) -> None:
    """Open a page through the sidebar navigation (it keeps the session) and let it settle."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(nav_label).click()
    page.wait_for_selector(f"h1:has-text('{heading or nav_label}')")
    settle(page)


# While the flag is armed, any DOM change that shows ``text`` sets it (a MutationObserver, so
# even a flash shorter than a poll is seen).
_ARM = """text => {
    window.__carafeSeen = false;
    const look = () => {
        if (document.body.textContent.includes(text)) window.__carafeSeen = true;
    };
    window.__carafeWatch = new MutationObserver(look);
    window.__carafeWatch.observe(document.body, {childList: true, subtree: true,
                                                 characterData: true});
}"""


def arm_seen(page, text: str) -> None:
    """Start recording whether ``text`` shows up on the page (read it with :func:`seen`)."""
    page.evaluate(_ARM, text)


def seen(page) -> bool:
    """Whether the text given to :func:`arm_seen` showed up since; stops recording."""
    return page.evaluate("() => { window.__carafeWatch.disconnect(); return window.__carafeSeen; }")


# The click picture's component frame (app/figures/click_image.py), on Explore and the network.
CLICK_FRAME = 'iframe[title="figures.click_image.carafe_click_image"]'


def scroll_main_to(page, top: float) -> float:
    """Scroll the app's main area to ``top`` CSS px (fractions allowed); returns where it went."""
    return page.evaluate(
        "top => { const m = document.querySelector('[data-testid=stMain]'); "
        "m.scrollTop = top; return m.scrollTop; }",
        top,
    )


def picture(page) -> dict:
    """The click picture as the browser shows it: its bounding box on the page (fractional CSS
    px), natural size, and where the image lies on it (margin, canvas pixels per image pixel)."""
    image = page.frame_locator(CLICK_FRAME).locator("#image")
    box = image.bounding_box()
    data = image.evaluate(
        "i => ({natural_w: i.naturalWidth, natural_h: i.naturalHeight, margin: +i.dataset.margin,"
        " up: +i.dataset.up, rows: +i.dataset.rows, cols: +i.dataset.cols})"
    )
    return {**box, **data}


def click_image_pixel(page, iy: int, ix: int, within: float = 0.5) -> tuple[float, float]:
    """Click image pixel (iy, ix) on the click picture, wherever the picture lies (fractional
    offsets included), ``within`` of the way across its square (0.5: its centre; 0.05: just
    inside its top-left edge); returns the page position clicked."""
    pic = picture(page)
    sx, sy = pic["width"] / pic["natural_w"], pic["height"] / pic["natural_h"]
    m, up = pic["margin"], pic["up"]
    x = pic["x"] + ((m + ix) * up + up * within) * sx
    y = pic["y"] + ((m + iy) * up + up * within) * sy
    page.mouse.click(x, y)
    return x, y


def selected_output_pixel(page) -> tuple[int, int]:
    """The page's "Output row y" / "Output column x" inputs: the selected output pixel."""
    return (
        int(page.locator('input[aria-label="Output row y"]').input_value()),
        int(page.locator('input[aria-label="Output column x"]').input_value()),
    )
