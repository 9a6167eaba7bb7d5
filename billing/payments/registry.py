"""Provider name → configured provider, built once from settings.

WeChat Pay and Alipay when their merchant ids are set; the sandbox only when
VSTORE_PAYMENTS_SANDBOX is on (DEBUG and tests: it marks orders paid with no money received, see
the "payments" block of the settings). A provider that is not here does not exist: checkout does
not offer it and its notify URL answers 404. Tests that override those settings get fresh
providers: the cache is dropped whenever a setting changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .base import PaymentProvider


class UnknownProvider(LookupError):
    pass


def _builders() -> dict[str, Callable[[], PaymentProvider]]:
    from .alipay import alipay_provider_build
    from .sandbox import sandbox_provider_build
    from .wechatpay import wechatpay_provider_build

    builders: dict[str, Callable[[], PaymentProvider]] = {}
    if settings.VSTORE_PAYMENTS_SANDBOX:
        builders["sandbox"] = sandbox_provider_build
    if settings.WECHATPAY_MCHID:
        builders["wechatpay"] = wechatpay_provider_build
    if settings.ALIPAY_APP_ID:
        builders["alipay"] = alipay_provider_build
    return builders


@functools.cache
def providers() -> dict[str, PaymentProvider]:
    return {name: build() for name, build in _builders().items()}


def sandbox_enabled() -> bool:
    return bool(settings.VSTORE_PAYMENTS_SANDBOX)


def provider_get(name: str) -> PaymentProvider:
    try:
        return providers()[name]
    except KeyError:
        raise UnknownProvider(f"payment provider {name!r} is not configured") from None


@receiver(setting_changed)
def _settings_changed(**_kwargs: object) -> None:
    providers.cache_clear()
