"""The owner's forms for API tokens and webhooks (SafeForm: the project's text rule)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.supplierapi.machinery import SHOP_EVENTS
from core.forms import SafeForm

from .services import SHOP_SCOPES

SCOPE_LABELS = {
    "listings:read": _("Read listings"),
    "listings:write": _("Create and reprice listings"),
    "orders:read": _("Read orders"),
    "contacts:read": _("Buyers' names, phones, e-mails and addresses"),
    "coupons:read": _("Read coupons"),
    "coupons:write": _("Create and pause coupons"),
    "campaigns:read": _("Read campaigns"),
    "campaigns:write": _("Schedule and stop campaigns"),
    "fans:read": _("Read fans"),
    "analytics:read": _("Read daily figures"),
    "webhooks:write": _("Manage webhooks"),
}


class TokenForm(SafeForm):
    name = forms.CharField(
        label=_("Name"), max_length=80, help_text=_("e.g. ERP, customer service")
    )
    scopes = forms.MultipleChoiceField(
        label=_("What it may do"),
        choices=[(s, SCOPE_LABELS.get(s, s)) for s in SHOP_SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )


class WebhookForm(SafeForm):
    url = forms.CharField(label=_("URL"), max_length=500, help_text=_("https://…"))
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(e, e) for e in SHOP_EVENTS],
        widget=forms.CheckboxSelectMultiple,
    )
