"""What every payout provider does: transfer money to a beneficiary once per payout_no, and say
what became of a transfer.

The payout_no is the idempotency key at the provider (WeChat Pay 商家转账 `out_bill_no`, Alipay
`out_biz_no`): asking twice with the same payout_no must never pay twice. `query` is what makes
a crashed payout safe to resume: a payout left "sending" is first looked up by its payout_no.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass


class PayoutProviderError(Exception):
    """The provider could not be reached or answered with a temporary error: safe to retry."""


class PayoutRefused(Exception):
    """The provider refused the transfer for good (bad account, frozen payee…): do not retry."""


class TransferState(enum.StrEnum):
    SUCCEEDED = "succeeded"
    PROCESSING = "processing"  # accepted, not final yet: ask again later
    FAILED = "failed"


@dataclass(frozen=True)
class Beneficiary:
    """Who receives a payout, as a provider needs it (never a tenant schema row)."""

    kind: str  # "creator" or "supplier"
    id: int  # the Tenant's or the Supplier's pk
    name: str

    @property
    def reference(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Transfer:
    """What the provider says about one transfer."""

    payout_no: str
    provider_ref: str
    amount_fen: int
    currency: str
    state: TransferState
    reason: str = ""


class PayoutProvider(abc.ABC):
    #: The name payouts record (Payout.provider).
    name: str

    @abc.abstractmethod
    def transfer(
        self, *, payout_no: str, amount_fen: int, currency: str, beneficiary: Beneficiary
    ) -> Transfer:
        """Send AMOUNT_FEN to BENEFICIARY, once per PAYOUT_NO: the same payout_no again returns
        the transfer already made. Raises PayoutProviderError (retry) or PayoutRefused."""

    @abc.abstractmethod
    def query(self, payout_no: str) -> Transfer | None:
        """The transfer made for PAYOUT_NO, or None when the provider never made one."""

    def clearing_provider(self) -> str:
        """Which payment clearing account the money leaves from (billing AccountRef.clearing):
        the platform's funds held at this provider."""
        return self.name
