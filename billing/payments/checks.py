"""`manage.py check --deploy`: a deployment that can take no payment is a misconfiguration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register


@register("billing", deploy=True)
def payment_provider_configured(**_kwargs: Any) -> list[CheckMessage]:
    # The same switches billing.payments.registry reads, without building any provider.
    if settings.WECHATPAY_MCHID or settings.ALIPAY_APP_ID or settings.VSTORE_PAYMENTS_SANDBOX:
        return []
    return [
        Warning(
            "No payment provider is configured: checkout cannot take payments.",
            hint="Set WECHATPAY_MCHID or ALIPAY_APP_ID and their keys (see deploy/README.md).",
            id="billing.W001",
        )
    ]
