"""The one place forms validate text and numbers (see core.text for the text rule).

Every form of the project mixes in SafeFormMixin (or subclasses SafeForm / SafeModelForm):
- each CharField refuses control characters and bidi overrides; a Textarea allows line breaks;
- each IntegerField without a max_value is bounded by what a PostgreSQL integer column holds,
  and a DecimalField by its max_digits, so 20 digits or 1e99 is a form error, never a 500.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import DecimalValidator, MaxValueValidator, MinValueValidator

from .money import FEN_MAX
from .text import multiline_validator, single_line_validator

INT_MAX = FEN_MAX


def field_make_safe(field: forms.Field) -> None:
    if isinstance(field, forms.CharField) and not isinstance(
        field, forms.EmailField | forms.URLField | forms.SlugField | forms.UUIDField
    ):
        multiline = isinstance(field.widget, forms.Textarea)
        validator = multiline_validator if multiline else single_line_validator
        if validator not in field.validators:
            field.validators.append(validator)
    elif isinstance(field, forms.DecimalField):
        # A DecimalField without max_digits accepts "1e99" and overflows the column later.
        if field.max_digits is None:
            field.max_digits = 12
            field.validators.append(DecimalValidator(12, field.decimal_places))
        if field.max_value is None:
            field.max_value = Decimal(10) ** (field.max_digits - (field.decimal_places or 0))
            field.validators.append(MaxValueValidator(field.max_value))
    elif isinstance(field, forms.IntegerField):
        if field.max_value is None:
            field.max_value = INT_MAX
            field.validators.append(MaxValueValidator(INT_MAX))
            field.widget.attrs.setdefault("max", INT_MAX)
        if field.min_value is None:
            field.min_value = -INT_MAX
            field.validators.append(MinValueValidator(-INT_MAX))


class SafeFormMixin:
    """Mix in first: class MyForm(SafeFormMixin, forms.Form)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
            field_make_safe(field)


class SafeForm(SafeFormMixin, forms.Form):
    pass


class SafeModelForm(SafeFormMixin, forms.ModelForm):
    pass
