"""Payout providers by name. VSTORE_PAYOUT_PROVIDER picks the one new batches use."""

from __future__ import annotations

from django.conf import settings

from .base import (
    Beneficiary,
    PayoutProvider,
    PayoutProviderError,
    PayoutRefused,
    Transfer,
    TransferState,
)

__all__ = [
    "Beneficiary",
    "PayoutProvider",
    "PayoutProviderError",
    "PayoutRefused",
    "Transfer",
    "TransferState",
    "payout_provider",
    "payout_provider_default",
]


def payout_provider(name: str) -> PayoutProvider:
    """The provider called NAME. A new provider: subclass PayoutProvider in a module of its own
    (the only place that knows its API) and add it here."""
    if name == "sandbox":
        from .sandbox import SandboxPayoutProvider

        return SandboxPayoutProvider()
    raise LookupError(f"no payout provider called {name!r}")


def payout_provider_default() -> str:
    return getattr(settings, "VSTORE_PAYOUT_PROVIDER", "sandbox")
