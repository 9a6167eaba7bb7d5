"""The supplier's forms for API tokens and webhooks (SafeForm: the project's text rule)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import SafeForm

from .machinery import SUPPLIER_EVENTS
from .services import SUPPLIER_SCOPES

SCOPE_LABELS = {
    "products:read": _("Read products and SKUs"),
    "stock:write": _("Set and adjust stock"),
    "prices:write": _("Request price changes"),
    "orders:read": _("Read orders to ship"),
    "orders:write": _("Ship orders"),
    "returns:read": _("Read returns"),
    "returns:write": _("Confirm returns"),
    "statements:read": _("Read statements"),
    "webhooks:write": _("Manage webhooks"),
}


class SupplierTokenForm(SafeForm):
    name = forms.CharField(label=_("Name"), max_length=80, help_text=_("e.g. WMS, ERP"))
    scopes = forms.MultipleChoiceField(
        label=_("What it may do"),
        choices=[(s, SCOPE_LABELS.get(s, s)) for s in SUPPLIER_SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )


class SupplierWebhookForm(SafeForm):
    url = forms.CharField(label=_("URL"), max_length=500, help_text=_("https://…"))
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(e, e) for e in SUPPLIER_EVENTS],
        widget=forms.CheckboxSelectMultiple,
    )
