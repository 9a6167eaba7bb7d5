"""The one place forms validate text and numbers (see core.text for the text rule).

Every form of the project mixes in SafeFormMixin (or subclasses SafeForm / SafeModelForm):
- each CharField (e-mail, URL, slug and regex fields included: Django's e-mail validator lets
  a quoted local part carry control characters) refuses control characters, bidi overrides
  and lone surrogates. Line breaks are allowed only where the widget is not a one-line
  <input> (a Textarea, a rich-text editor);
- each IntegerField without a max_value/min_value is bounded by what a PostgreSQL integer
  column holds, and a DecimalField by its max_digits, so 20 digits or 1e99 is a form error,
  never a 500.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import (
    DecimalValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from django.forms.widgets import ChoiceWidget, Input
from django.utils.translation import gettext_lazy

from .money import FEN_MAX
from .text import multiline_validator, single_line_validator

# What a PostgreSQL integer column holds (-2**31 .. 2**31 - 1).
INT_MAX = FEN_MAX
INT_MIN = -FEN_MAX - 1
# A DecimalField that names no max_digits gets these: numeric(12, n) covers any amount here.
DECIMAL_DIGITS = 12


def field_is_multiline(field: forms.Field) -> bool:
    """A Textarea, or a widget of its own kind (a rich-text editor), may carry line breaks;
    a one-line <input> (text, password, hidden, e-mail…) or a <select> never does."""
    widget = field.widget
    if isinstance(widget, forms.Textarea):
        return True
    return not isinstance(widget, Input | ChoiceWidget)


def field_make_safe(field: forms.Field) -> None:
    """Add the text rule or the number bounds to FIELD (a form instance's own copy)."""
    if isinstance(field, forms.CharField):
        validator = multiline_validator if field_is_multiline(field) else single_line_validator
        # The rule refuses NUL too: Django's own NUL check would only say it a second time.
        field.validators = [
            v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]
        if validator not in field.validators:
            field.validators.append(validator)
    elif isinstance(field, forms.DecimalField):
        if field.max_digits is None:
            field.max_digits = DECIMAL_DIGITS
            field.validators.append(DecimalValidator(DECIMAL_DIGITS, field.decimal_places))
        # The largest value the digits hold, as in the column: numeric(5, 2) holds 999.99.
        places = field.decimal_places or 0
        top = Decimal(10) ** (field.max_digits - places) - Decimal(10) ** -places
        if field.max_value is None:
            field.max_value = top  # type: ignore[assignment]  # Django takes any number here
            field.validators.append(MaxValueValidator(top))
        if field.min_value is None:
            field.min_value = -top  # type: ignore[assignment]
            field.validators.append(MinValueValidator(-top))
    elif isinstance(field, forms.IntegerField):  # FloatField is one too
        if field.max_value is None:
            field.max_value = INT_MAX
            field.validators.append(MaxValueValidator(INT_MAX))
            field.widget.attrs.setdefault("max", INT_MAX)
        if field.min_value is None:
            field.min_value = INT_MIN
            field.validators.append(MinValueValidator(INT_MIN))
            field.widget.attrs.setdefault("min", INT_MIN)


class SafeFormMixin:
    """Mix in first: class MyForm(SafeFormMixin, forms.Form).

    Fields a form adds in its own __init__ after calling super().__init__() are made safe
    too when it calls `self.fields_make_safe()` at its end.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields_make_safe()

    def fields_make_safe(self) -> None:
        # self.fields holds deep copies of the class's fields: the class is never changed.
        for field in self.fields.values():  # type: ignore[attr-defined]
            field_make_safe(field)


class SafeForm(SafeFormMixin, forms.Form):
    pass


class SafeModelForm(SafeFormMixin, forms.ModelForm):
    pass


def form_errors_text(form: forms.Form) -> str:
    """All of FORM's errors in one line for a flash message: "label: error" per field."""
    parts: list[str] = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = str(field.label) if field is not None and field.label else ""
        for error in errors:
            if label:
                error = gettext_lazy("%(label)s: %(error)s") % {"label": label, "error": error}
            parts.append(str(error))
    return " ".join(parts)
