"""Builders for payout tests and the bench: creators with a ledger balance, made through the
ledger's own services (never raw inserts)."""

from __future__ import annotations

import itertools
import uuid

from billing.ledger import AccountRef, entry_post
from billing.models import JournalEntry
from tenants.models import Tenant

_seq = itertools.count(1)


def creator_make(*, name: str | None = None) -> Tenant:
    """A shop row in the public schema; its schema is never touched by payouts, so none is made."""
    tag = uuid.uuid4().hex[:10]
    return Tenant.objects.create(schema_name=f"payout_{tag}", name=name or f"小店{tag}")


def commission_settle(*, tenant_id: int, fen: int, provider: str = "sandbox") -> JournalEntry:
    """Make FEN of commission available to a creator, as capture + settlement would: the buyer's
    money in clearing, the creator's available commission credited."""
    return entry_post(
        key=f"test-settled:{tenant_id}:{next(_seq)}:{uuid.uuid4().hex[:8]}",
        lines=[
            (AccountRef.clearing(provider), fen),
            (AccountRef.commission_available(tenant_id), -fen),
        ],
        memo="test: commission available",
    )


def commission_claw_back(*, tenant_id: int, fen: int, provider: str = "sandbox") -> JournalEntry:
    """A return refunded after the commission was available (or paid out): debit it back."""
    return entry_post(
        key=f"test-clawback:{tenant_id}:{next(_seq)}:{uuid.uuid4().hex[:8]}",
        lines=[
            (AccountRef.commission_available(tenant_id), fen),
            (AccountRef.refunds_payable(provider), -fen),
        ],
        memo="test: clawback",
    )


def supplier_settle(*, supplier_id: int, fen: int, provider: str = "sandbox") -> JournalEntry:
    return entry_post(
        key=f"test-supplier-settled:{supplier_id}:{next(_seq)}:{uuid.uuid4().hex[:8]}",
        lines=[
            (AccountRef.clearing(provider), fen),
            (AccountRef.supplier_available(supplier_id), -fen),
        ],
        memo="test: supplier payable available",
    )
