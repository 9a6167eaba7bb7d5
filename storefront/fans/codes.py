"""One-time sign-in codes that recognise a returning buyer in one shop.

Codes live in the cache (whose keys carry the shop's schema, so a code from shop A means nothing
in shop B), hashed, for ten minutes, with five tries. How a code reaches the buyer is behind
`CodeSender`: e-mail through Django's mail backend, SMS through VSTORE_SMS_SENDER (the console
in development; an SMS gateway's wrapper in production).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from core.clients import rate_limited
from core.text import text_clean
from storefront.models import Fan

logger = logging.getLogger(__name__)

TTL = 600
TRIES = 5
RESEND_AFTER = 60


class CodesLimited(ValidationError):
    """Too many codes asked for this mobile/e-mail or from this client: SMS cost money, and a
    stranger must not be able to flood someone's phone through our shops."""


class CodeSender(Protocol):
    def send(self, *, to: str, code: str, shop_name: str) -> None: ...


class EmailCodeSender:
    def send(self, *, to: str, code: str, shop_name: str) -> None:
        send_mail(
            subject=_("Your code for %(shop)s") % {"shop": shop_name},
            message=_("Your sign-in code is %(code)s. It is valid for 10 minutes.")
            % {"code": code},
            from_email=None,
            recipient_list=[to],
        )


class ConsoleSmsSender:
    """Development SMS: the code goes to the log, where the developer reads it."""

    def send(self, *, to: str, code: str, shop_name: str) -> None:
        # The text a real sender would send: the shop's signature in 【】, as China's SMS rules ask.
        text = _("[%(shop)s] Your sign-in code is %(code)s. It is valid for 10 minutes.") % {
            "shop": shop_name,
            "code": code,
        }
        logger.warning("SMS to %s: %s", to, text)


def _sender(contact: str) -> CodeSender:
    if "@" in contact:
        return EmailCodeSender()
    return import_string(settings.VSTORE_SMS_SENDER)()


def _digest(contact: str, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{contact}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def code_request(*, contact: str, shop_name: str, client: str = "") -> None:
    """Send a fresh code to CONTACT (an e-mail or a normalised mobile); at most once a minute
    per shop, and per hour at most VSTORE_RATES["code_send_contact"] codes to one CONTACT and
    VSTORE_RATES["code_send_client"] asked by one CLIENT (core.clients.client_bucket), counted
    across all shops: a stranger cannot flood someone's phone through a hundred shops."""
    if not cache.add(f"otp-sent:{contact}", 1, RESEND_AFTER):
        raise ValidationError(_("A code was sent less than a minute ago."), code="too_soon")
    if client and rate_limited(name="code_send_client", value=client, across_shops=True):
        raise CodesLimited(
            _("Too many codes were asked for from your network. Please try again in an hour."),
            code="client_limit",
        )
    if rate_limited(name="code_send_contact", value=contact, across_shops=True):
        raise CodesLimited(
            _("Too many codes were sent to this number or address. Please try again in an hour."),
            code="contact_limit",
        )
    code = f"{secrets.randbelow(10**6):06d}"
    cache.set(f"otp:{contact}", {"digest": _digest(contact, code)}, TTL)
    # A new code gets fresh tries. Set, never deleted: cache.incr on a key that vanished in
    # between would make one without an expiry.
    cache.set(f"otp-tries:{contact}", 0, TTL)
    # The name goes into a mail subject: a name stored with CR/LF before names were checked
    # would make send_mail refuse the header (a 500), so it is made one safe line here.
    _sender(contact).send(to=contact, code=code, shop_name=text_clean(shop_name))


def code_verify(*, contact: str, code: str) -> Fan | None:
    """The shop's fan for CONTACT if CODE is right; ValidationError if wrong or used up.

    Returns None when the code is right but this shop has no buyer with that contact yet.
    """
    key = f"otp:{contact}"
    entry = cache.get(key)
    if entry is None:
        raise ValidationError(_("The code has expired. Ask for a new one."), code="expired")
    # Count the try before looking at the code, atomically (Redis INCR): of 20 guesses sent at
    # once exactly TRIES are compared, where read-then-set let most of them through.
    tries_key = f"otp-tries:{contact}"
    cache.add(tries_key, 0, TTL)
    try:
        tries = cache.incr(tries_key)
    except ValueError:  # the key expired just now, with the code
        tries = TRIES + 1
    if tries > TRIES:
        cache.delete(key)
        raise ValidationError(_("The code has expired. Ask for a new one."), code="expired")
    if not hmac.compare_digest(entry["digest"], _digest(contact, code.strip())):
        raise ValidationError(_("The code is not right."), code="wrong")
    if not cache.delete(key):  # a parallel check with the right code was first
        raise ValidationError(_("The code has expired. Ask for a new one."), code="expired")
    lookup = {"email": contact} if "@" in contact else {"mobile": contact}
    return Fan.objects.filter(**lookup).first()
