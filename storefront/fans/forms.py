"""A returning buyer's sign-in forms.

Every form mixes in core.forms.SafeFormMixin: forged characters and impossible numbers are form
errors, never a 500 and never a row.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import SafeFormMixin
from storefront.orders.forms import CheckoutForm


class ContactForm(SafeFormMixin, forms.Form):
    """A returning buyer asks for a sign-in code: the contact, as on the checkout form."""

    contact = CheckoutForm.base_fields["contact"]
    clean_contact = CheckoutForm.clean_contact


class CodeForm(SafeFormMixin, forms.Form):
    code = forms.RegexField(
        label=_("Code"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("The code is six digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
