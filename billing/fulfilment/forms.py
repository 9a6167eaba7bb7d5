"""Forms of fulfilment: the parcel a buyer sends back for a return (its markup is in
storefront/aftersale/aftersale.html; the service checks the values again)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import SafeForm


class ReturnShipmentForm(SafeForm):
    return_carrier = forms.CharField(label=_("Carrier"), max_length=40)
    return_tracking_number = forms.CharField(label=_("Tracking number"), max_length=40)
