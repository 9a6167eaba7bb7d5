"""How a person is reached: a mainland mobile number or an e-mail address, normalised once.

Sign-up, checkout, sign-in codes and team invitations all read people's contacts through here,
so the same person typed two ways ("138 0013 8000", "+8613800138000") is one person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MOBILE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def mobile_normalise(value: str) -> str | None:
    """An 11-digit mainland mobile number from common spellings, or None."""
    match = MOBILE_RE.match(re.sub(r"[\s-]", "", value))
    return match.group(1) if match else None


@dataclass(frozen=True)
class Contact:
    email: str = ""
    mobile: str = ""

    @property
    def login(self) -> str:
        return self.email or self.mobile


def contact_parse(value: str) -> Contact | None:
    """An e-mail address (lower-cased: how VStore stores and looks them up) when VALUE has an
    "@", else a mainland mobile number; None when it is neither."""
    value = value.strip()
    if "@" in value:
        try:
            validate_email(value)
        except ValidationError:
            return None
        return Contact(email=value.lower())
    mobile = mobile_normalise(value)
    return Contact(mobile=mobile) if mobile else None
