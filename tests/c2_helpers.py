"""Helpers for the coupon money tests (issue 12, "who pays"): a recording refund hook."""

from __future__ import annotations

# What the recording hook was told, in order: (tenant_id, order_number, fully).
REFUNDS_TOLD: list[tuple[int, str, bool]] = []

HOOK_PATH = "tests.c2_helpers.order_refunded_record"


def order_refunded_record(*, tenant_id: int, order_number: str, fully: bool) -> None:
    """A VSTORE_ORDER_REFUNDED_HOOK for tests: remembers each call."""
    REFUNDS_TOLD.append((tenant_id, order_number, fully))
