"""What text a person may type into VStore: one rule, used by every form through core.forms.

Refused (a clear error, the form keeps what was typed):
- NUL and the other C0/C1 control characters: PostgreSQL cannot store NUL (a 500), and the
  others are never typed by a person, only forged;
- line breaks (CR, LF, U+2028/U+2029, and tabs) in single-line fields: a shop name with CR/LF
  broke the mail header it was put into;
- the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) that make "gnp.exe"
  display as "exe.png". The marks U+200E/U+200F stay allowed: they only nudge neutral
  characters and are part of ordinary Arabic and Hebrew text;
- lone surrogates (only JSON can carry them): they cannot be encoded to UTF-8, so storing
  them fails.

Ordinary tabs and line breaks stay allowed in multi-line text; CR LF and a lone CR become LF.

`text_validate` refuses; `text_clean` is for text that is already stored and must be put into a
single-line place such as a mail subject: it drops what the rule refuses instead.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_SURROGATE = "\ud800-\udfff"
_BREAKS = "\t\n\r\u2028\u2029"
_MULTILINE_BAD = re.compile(f"[{_CONTROL}{_BIDI}{_SURROGATE}]")
_SINGLE_LINE_BAD = re.compile(f"[{_CONTROL}{_BIDI}{_SURROGATE}{_BREAKS}]")
_BREAK_RUN = re.compile(f"[{_BREAKS}]+")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """The reason VALUE is refused, or None when it is fine."""
    bad = (_MULTILINE_BAD if multiline else _SINGLE_LINE_BAD).search(value)
    if bad is None:
        return None
    char = bad.group()
    if char in _BREAKS:
        return str(_("Line breaks are not allowed here."))
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return str(_("Text direction control characters are not allowed."))
    if "\ud800" <= char <= "\udfff":
        return str(_("This text contains characters that cannot be stored."))
    return str(_("Control characters are not allowed."))


def text_validate(value: str, *, multiline: bool = False) -> str:
    """VALUE with CR LF (and a lone CR) made LF, or ValidationError saying what is wrong."""
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise ValidationError(problem, code="unsafe_text")
    return value


def text_clean(value: str) -> str:
    """VALUE made safe for one line (a mail subject, a log line): each run of line breaks and
    tabs becomes one space, and what the rule refuses is dropped. For text stored before the
    rule existed; input is refused with text_validate instead, never silently changed."""
    value = _BREAK_RUN.sub(" ", value)
    return _SINGLE_LINE_BAD.sub("", value).strip()


def single_line_validator(value: object) -> None:
    # Fields such as UUIDField hand their validators the converted value, not a str.
    if isinstance(value, str):
        text_validate(value)


def multiline_validator(value: object) -> None:
    if isinstance(value, str):
        text_validate(value, multiline=True)
