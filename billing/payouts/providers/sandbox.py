"""The sandbox payout provider: records transfers in its own table, once per payout_no.

For development and tests. It answers at once with a final state, like a real provider's
synchronous success. One test-only switch: with VSTORE_PAYOUT_SANDBOX_CRASH_AFTER_TRANSFER set
to 1 in the environment, the process kills itself (SIGKILL) right after the transfer is
committed, before the caller can record it: the crash the payout task must survive.
"""

from __future__ import annotations

import os
import secrets
import signal

from django.db import IntegrityError, transaction

from ..models import SandboxTransfer
from .base import Beneficiary, PayoutProvider, PayoutRefused, Transfer, TransferState

CRASH_ENV = "VSTORE_PAYOUT_SANDBOX_CRASH_AFTER_TRANSFER"


def _as_transfer(row: SandboxTransfer) -> Transfer:
    return Transfer(
        payout_no=row.payout_no,
        provider_ref=row.transfer_id,
        amount_fen=row.amount_fen,
        currency=row.currency,
        state=TransferState.SUCCEEDED,
    )


class SandboxPayoutProvider(PayoutProvider):
    name = "sandbox"

    def transfer(
        self, *, payout_no: str, amount_fen: int, currency: str, beneficiary: Beneficiary
    ) -> Transfer:
        if amount_fen <= 0:
            raise PayoutRefused(f"sandbox: amount must be positive, not {amount_fen}")
        existing = SandboxTransfer.objects.filter(payout_no=payout_no).first()
        if existing is None:
            try:
                # Its own transaction, committed before we answer: like an outside provider,
                # the transfer exists whatever the caller does next.
                with transaction.atomic():
                    existing = SandboxTransfer.objects.create(
                        payout_no=payout_no,
                        transfer_id=f"SBX{secrets.token_hex(12).upper()}",
                        amount_fen=amount_fen,
                        currency=currency,
                        beneficiary=beneficiary.reference,
                        beneficiary_name=beneficiary.name[:200],
                    )
            except IntegrityError:
                # Another worker made it at the same moment: the same payout_no is one transfer.
                existing = SandboxTransfer.objects.get(payout_no=payout_no)
        if existing.amount_fen != amount_fen or existing.currency != currency:
            raise PayoutRefused(
                f"sandbox: payout_no {payout_no} was already used for "
                f"{existing.amount_fen} {existing.currency}"
            )
        if os.environ.get(CRASH_ENV) == "1" and not transaction.get_connection().in_atomic_block:
            os.kill(os.getpid(), signal.SIGKILL)
        return _as_transfer(existing)

    def query(self, payout_no: str) -> Transfer | None:
        row = SandboxTransfer.objects.filter(payout_no=payout_no).first()
        return None if row is None else _as_transfer(row)
