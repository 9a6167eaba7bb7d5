"""Buyer-facing forms. They parse and validate; prices never come from a form."""

from __future__ import annotations

from django import forms
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from tenants.signup import mobile_normalise

from .orders import MAX_QUANTITY, Buyer
from .regions import PROVINCES


class CartAddForm(forms.Form):
    item = forms.IntegerField(min_value=1)
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1
    )
    buy_now = forms.BooleanField(required=False)


class CartQuantityForm(forms.Form):
    line = forms.IntegerField(min_value=1)
    # 0 removes the line.
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=MAX_QUANTITY)


def _mobile(value: str) -> str:
    mobile = mobile_normalise(value)
    if mobile is None:
        raise forms.ValidationError(_("Enter an 11-digit mainland mobile number."), code="mobile")
    return mobile


class CheckoutForm(forms.Form):
    contact = forms.CharField(
        label=_("Mobile number or e-mail"),
        max_length=254,
        help_text=_("For the order's updates and to find your order again."),
        widget=forms.TextInput(attrs={"autocomplete": "email tel", "inputmode": "email"}),
    )
    recipient = forms.CharField(label=_("Recipient"), max_length=50)
    recipient_phone = forms.CharField(
        label=_("Recipient's mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    province = forms.ChoiceField(
        label=_("Province"), choices=[("", _("Choose…"))] + [(p, p) for p in PROVINCES]
    )
    city = forms.CharField(label=_("City"), max_length=30)
    district = forms.CharField(label=_("District / county"), max_length=30)
    street = forms.CharField(
        label=_("Street address"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    note = forms.CharField(label=_("Note to the seller"), max_length=200, required=False)

    def clean_contact(self) -> dict[str, str]:
        value = self.cleaned_data["contact"].strip()
        if "@" in value:
            try:
                validate_email(value)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("Enter a valid e-mail address or an 11-digit mainland mobile number."),
                    code="contact",
                ) from None
            return {"email": value.lower(), "mobile": ""}
        mobile = mobile_normalise(value)
        if mobile is None:
            raise forms.ValidationError(
                _("Enter a valid e-mail address or an 11-digit mainland mobile number."),
                code="contact",
            )
        return {"email": "", "mobile": mobile}

    def clean_recipient_phone(self) -> str:
        return _mobile(self.cleaned_data["recipient_phone"])

    def buyer(self) -> Buyer:
        data = self.cleaned_data
        return Buyer(
            mobile=data["contact"]["mobile"],
            email=data["contact"]["email"],
            recipient=data["recipient"].strip(),
            recipient_phone=data["recipient_phone"],
            province=data["province"],
            city=data["city"].strip(),
            district=data["district"].strip(),
            street=data["street"].strip(),
            note=data["note"].strip(),
        )


class OrderLookupForm(forms.Form):
    number = forms.CharField(label=_("Order number"), max_length=16, min_length=16)
    phone = forms.CharField(
        label=_("Mobile number used for the order"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip().upper()

    def clean_phone(self) -> str:
        return _mobile(self.cleaned_data["phone"])
