"""The app served by ``streamlit run`` on a free local port, and waits on it in a browser page.

Shared by the click benchmark (app/dev/bench_clicks.py) and the browser test
(tests/test_browser.py), so both start, poll and stop the app the same way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

APP = Path(__file__).resolve().parents[1]  # app/

# True in the page once a plot title reads "Reassembly kernel of output pixel ..." and differs
# from the argument. Polled in the page (a CSS query over the few plot titles): polling a text=
# locator from Python scans the whole DOM's text each time, and on 2 cores that scan slowed the
# very page it timed by about 100 ms per click.
NEW_KERNEL_TITLE = """prev => [...document.querySelectorAll('.gtitle')].some(t =>
    t.textContent.startsWith('Reassembly kernel of output pixel') && t.textContent !== prev)"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(limit: float = 30.0) -> Iterator[str]:
    """``streamlit run app/main.py`` headless on 127.0.0.1; yields its URL once healthy.

    Raises RuntimeError (with the end of streamlit's stderr) if it exits or is not healthy
    within ``limit`` seconds; stops it (and its children) on exit.
    """
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP / "main.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=APP.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.time() + limit
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited: {proc.stderr.read().decode()[-2000:]}")
            if time.time() > end:
                raise RuntimeError(f"streamlit did not become healthy in {limit:.0f} s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_idle(page, quiet: float = 1.5, timeout: float = 90.0, poll: float = 0.1) -> None:
    """Wait until the app's 'running' indicator has been gone for ``quiet`` seconds."""
    end, gone = time.time() + timeout, None
    while time.time() < end:
        if page.locator('[data-testid="stStatusWidget"]').count() == 0:
            gone = gone or time.time()
            if time.time() - gone > quiet:
                return
        else:
            gone = None
        time.sleep(poll)
    raise AssertionError("the app kept running for too long")
