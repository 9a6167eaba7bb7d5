"""What text a person may type into VStore: one rule, used by every form through core.forms.

Refused (a clear error, the form keeps what was typed): NUL and the other C0/C1 control
characters, line breaks in single-line fields, and the bidirectional overrides and isolates
(U+202A–U+202E, U+2066–U+2069) that make "gnp.exe" display as "exe.png". Ordinary tabs and
line breaks stay allowed in multi-line text; CR LF is normalised to LF.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_MULTILINE_BAD = re.compile(f"[{_CONTROL}{_BIDI}]")
_SINGLE_LINE_BAD = re.compile(f"[{_CONTROL}{_BIDI}\t\n\r\u2028\u2029]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """The reason VALUE is refused, or None when it is fine."""
    bad = (_MULTILINE_BAD if multiline else _SINGLE_LINE_BAD).search(value)
    if bad is None:
        return None
    if bad.group() in "\t\n\r\u2028\u2029":
        return str(_("Line breaks are not allowed here."))
    if "\u202a" <= bad.group() <= "\u202e" or "\u2066" <= bad.group() <= "\u2069":
        return str(_("Text direction control characters are not allowed."))
    return str(_("Control characters are not allowed."))


def text_validate(value: str, *, multiline: bool = False) -> str:
    """VALUE with CR LF made LF, or ValidationError saying what is wrong with it."""
    if multiline:
        value = value.replace("\r\n", "\n")
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise ValidationError(problem, code="unsafe_text")
    return value


def single_line_validator(value: str) -> None:
    text_validate(value)


def multiline_validator(value: str) -> None:
    text_validate(value, multiline=True)
