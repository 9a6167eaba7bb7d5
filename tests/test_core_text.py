"""The one text rule (core.text) and the form mixin that applies it and bounds numbers
(core.forms): what a person may type, what only a forger sends."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError

from core.forms import INT_MAX, INT_MIN, SafeForm, SafeFormMixin, field_make_safe
from core.text import single_line_validator, text_clean, text_problem, text_validate

pytestmark = pytest.mark.usefixtures("catalog_english")

FORGED = {
    "NUL": "abc\x00def",
    "bell": "abc\x07",
    "escape": "\x1b[31mred",
    "DEL": "abc\x7f",
    "C1 NEL": "abc\x85def",
    "RTL override": "photo\u202egnp.exe",
    "LTR override": "\u202dabc",
    "RTL isolate": "\u2067abc\u2069",
    "lone surrogate": "abc\ud800",
}
BREAKS = {"LF": "a\nb", "CR": "a\rb", "CRLF": "a\r\nb", "tab": "a\tb", "U+2028": "a\u2028b"}
FINE = ["王小明", "宝妈推荐好物 ¥88.80", "Café «déjà vu» — 100%", "مرحبا\u200fabc", "👶🍼", ""]


@pytest.mark.parametrize("value", FORGED.values(), ids=FORGED.keys())
@pytest.mark.parametrize("multiline", [False, True])
def test_control_bidi_and_surrogate_characters_are_refused_everywhere(value, multiline):
    with pytest.raises(ValidationError) as caught:
        text_validate(value, multiline=multiline)
    assert caught.value.code == "unsafe_text"


@pytest.mark.parametrize("value", BREAKS.values(), ids=BREAKS.keys())
def test_line_breaks_are_refused_on_one_line_and_kept_in_multiline_text(value):
    with pytest.raises(ValidationError, match="Line breaks are not allowed"):
        text_validate(value)
    assert "\r" not in text_validate(value, multiline=True)
    assert text_validate(value, multiline=True).startswith("a")


def test_multiline_text_has_lf_line_ends():
    assert text_validate("一\r\n二\r三\n四", multiline=True) == "一\n二\n三\n四"


@pytest.mark.parametrize("value", FINE)
def test_what_people_type_passes_unchanged(value):
    assert text_validate(value) == value
    assert text_problem(value) is None


def test_the_error_says_what_is_wrong():
    assert text_problem("a\u202eb") == "Text direction control characters are not allowed."
    assert text_problem("a\x00b") == "Control characters are not allowed."
    assert text_problem("a\nb") == "Line breaks are not allowed here."
    assert text_problem("a\ud800") == "This text contains characters that cannot be stored."


def test_text_clean_makes_stored_text_one_safe_line():
    assert text_clean("Shop\r\nBcc: victim@example.com") == "Shop Bcc: victim@example.com"
    assert text_clean(" 小店\x00\u202e名\t ") == "小店名"
    assert text_clean("宝妈小店") == "宝妈小店"


# --- the form mixin -----------------------------------------------------------------------------


class Everything(SafeForm):
    name = forms.CharField(max_length=50)
    about = forms.CharField(widget=forms.Textarea, required=False)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, required=False)
    city = forms.CharField(widget=forms.Select, required=False)
    ref = forms.UUIDField(required=False)
    count = forms.IntegerField(required=False)
    small = forms.IntegerField(min_value=0, max_value=99, required=False)
    amount = forms.DecimalField(decimal_places=2, required=False)
    rate = forms.DecimalField(max_digits=5, decimal_places=2, required=False)


def errors(**data) -> dict:
    form = Everything({"name": "王小明", **data})
    form.is_valid()
    return form.errors


def test_a_plain_form_passes():
    typed = {"about": "第一行\r\n第二行", "email": "mum@example.com", "count": "-5"}
    assert errors(**typed, amount="88.80") == {}
    assert errors(ref=str(uuid.uuid4())) == {}


@pytest.mark.parametrize("value", FORGED.values(), ids=FORGED.keys())
@pytest.mark.parametrize("field", ["name", "about", "password"])
def test_every_text_field_refuses_forged_characters(field, value):
    assert field in errors(**{field: value})


def test_a_quoted_email_cannot_smuggle_control_characters():
    # Django's own EmailValidator accepts this (a quoted local part); the rule does not.
    assert forms.EmailField().clean('"a\x01b"@example.com')
    assert "email" in errors(email='"a\x01b"@example.com')


@pytest.mark.parametrize("field", ["name", "password", "city"])
def test_a_one_line_field_refuses_line_breaks(field):
    assert field in errors(**{field: "王小明\r\nBcc: x@example.com"})


@pytest.mark.parametrize(
    "field,value",
    [
        ("count", "9" * 20),
        ("count", str(INT_MAX + 1)),
        ("count", str(INT_MIN - 1)),
        ("count", "1e99"),
        ("count", "9" * 5000),  # beyond Python's int() digit limit
        ("small", "-1"),
        ("small", "100"),
        ("amount", "1e99"),
        ("amount", "-1e99"),
        ("amount", "9" * 20),
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("rate", "1000"),
        ("rate", "1.001"),
    ],
)
def test_numbers_are_bounded_by_what_their_column_holds(field, value):
    assert field in errors(**{field: value})


def test_the_bounds_reach_the_edges_of_the_column_and_no_further():
    assert errors(count=str(INT_MAX), rate="999.99", amount="9999999999.99") == {}
    assert errors(count=str(INT_MIN), rate="-999.99") == {}
    assert "amount" in errors(amount="10000000000.00")


def test_bounds_a_form_sets_itself_are_kept():
    form = Everything()
    assert (form.fields["small"].min_value, form.fields["small"].max_value) == (0, 99)
    assert form.fields["rate"].max_value == Decimal("999.99")
    assert form.fields["count"].widget.attrs["max"] == INT_MAX


def test_the_form_class_is_left_untouched():
    Everything()
    assert Everything.base_fields["count"].max_value is None
    assert single_line_validator not in Everything.base_fields["name"].validators


def test_fields_added_after_init_are_made_safe_on_request():
    class Dynamic(SafeFormMixin, forms.Form):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["extra"] = forms.IntegerField()
            self.fields_make_safe()

    form = Dynamic({"extra": "9" * 20})
    assert not form.is_valid() and "extra" in form.errors


def test_field_make_safe_twice_adds_the_rule_once():
    field = forms.CharField()
    field_make_safe(field)
    field_make_safe(field)
    assert len(field.validators) == 1  # the rule, which says "control characters" for a NUL
