"""Browser journeys: Debian's Chromium through Playwright, phone-sized, with screenshots kept."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection, transaction
from django_tenants.utils import tenant_context

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


def screenshots_dir() -> Path:
    """var/screenshots/: the pictures of the buyer's pages kept for people to look at."""
    path = ROOT / "var" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def article_with_card(shop, *, listing_id: int, slug: str, title: str = "辅食碗测评"):
    """A published article in SHOP with one product card for LISTING_ID."""
    from cms.models import ArticlePage, HomePage

    body = [
        {"type": "paragraph", "value": "<p>宝宝自己吃饭，这个碗真的不会翻。</p>"},
        {"type": "product_card", "value": {"listing": listing_id, "note": "我家用了半年"}},
    ]
    with tenant_context(shop):
        home = HomePage.objects.get()
        return home.add_child(
            instance=ArticlePage(title=title, slug=slug, summary="好用", body=body)
        )


@pytest.fixture
def static_from_finders(settings) -> None:
    """Styled screenshots: the server's WhiteNoise finds static files in the apps (no
    collectstatic in tests). Set before platform_server builds its handler."""
    settings.WHITENOISE_USE_FINDERS = True


@pytest.fixture
def paid_rows_removed(committed_db) -> Iterator[None]:
    """After the test, remove what a real capture wrote beside its payment.

    committed_db deletes payments afterwards, but a captured one is referred to by ledger rows
    (append-only by trigger) and supplier orders (PROTECT). The test database is thrown away
    at the end of the run; until then the next test must find no payments left, so these rows
    go with triggers off (session_replication_role, the test database's superuser).
    """
    from billing.fulfilment.models import (
        BuyerNotice,
        FulfilmentEvent,
        SupplierOrder,
        SupplierOrderLine,
    )
    from billing.models import JournalEntry, Payment, Posting

    yield
    ids = list(Payment.objects.values_list("pk", flat=True))
    if not ids:
        return
    orders = f"SELECT id FROM {SupplierOrder._meta.db_table} WHERE payment_id = ANY(%s)"
    entries = f"SELECT id FROM {JournalEntry._meta.db_table} WHERE payment_id = ANY(%s)"
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        for sql in (
            f"DELETE FROM {Posting._meta.db_table} WHERE entry_id IN ({entries})",
            f"DELETE FROM {JournalEntry._meta.db_table} WHERE id IN ({entries})",
            *(
                f"DELETE FROM {m._meta.db_table} WHERE supplier_order_id IN ({orders})"
                for m in (FulfilmentEvent, BuyerNotice, SupplierOrderLine)
            ),
            f"DELETE FROM {SupplierOrder._meta.db_table} WHERE id IN ({orders})",
        ):
            cur.execute(sql, [ids])
