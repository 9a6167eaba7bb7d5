"""Browser journeys: Debian's Chromium through Playwright, phone-sized, with screenshots kept."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Debian's package, installed by `make sysdeps`: Playwright drives it, so no `playwright install`.
CHROMIUM = os.environ.get("VSTORE_CHROMIUM", "/usr/bin/chromium")
# An iPhone 12-15 sized screen; English so that assertions read the source strings.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-US",
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI Language/en"
    ),
}


def artifacts_dir(name: str) -> Path:
    """A fresh directory for one journey's screenshots (var/ is ignored by git)."""
    base = Path(os.environ.get("VSTORE_ARTIFACTS_DIR") or ROOT / "var" / "artifacts")
    path = base / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (playwright.sync_api.Browser); closed afterwards.

    The sync API runs an event loop in this thread while it is open, so Django's ORM (which
    refuses to run beside a running loop) is used before or after this block, not inside it.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make sysdeps` (Debian's chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()
