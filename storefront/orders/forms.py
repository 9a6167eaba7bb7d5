"""Cart, checkout and order look-up forms. They parse and validate; prices never come from a form.

Every form mixes in core.forms.SafeFormMixin: forged characters and impossible numbers are form
errors, never a 500 and never a row.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.contact import contact_parse, mobile_normalise
from core.forms import SafeFormMixin
from storefront.coupons.checkout import AUTO, CouponAsk

from .regions import PROVINCES, cities_of, city_in, district_in, districts_of
from .services import MAX_QUANTITY, Buyer


class CartAddForm(SafeFormMixin, forms.Form):
    item = forms.IntegerField(min_value=1)
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1
    )
    buy_now = forms.BooleanField(required=False)


class CartQuantityForm(SafeFormMixin, forms.Form):
    line = forms.IntegerField(min_value=1)
    # 0 removes the line.
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=MAX_QUANTITY)


def _mobile(value: str) -> str:
    mobile = mobile_normalise(value)
    if mobile is None:
        raise forms.ValidationError(_("Enter an 11-digit mainland mobile number."), code="mobile")
    return mobile


class CheckoutForm(SafeFormMixin, forms.Form):
    """Who receives the parcel, where, and (optionally) where the order's updates go.

    The recipient's mobile is asked once: unless the buyer gives an e-mail or another mobile
    for updates, it is also the order's contact (the number she finds her order with). City
    and district are picked from China's divisions (storefront.orders.regions) and checked against
    the chosen province and city here, whatever the browser sent.
    """

    contact = forms.CharField(
        label=_("Mobile number or e-mail"),
        max_length=254,
        help_text=_("For the order's updates and to find your order again."),
        widget=forms.TextInput(attrs={"autocomplete": "email tel", "inputmode": "email"}),
    )
    recipient = forms.CharField(
        label=_("Recipient"), max_length=50, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    recipient_phone = forms.CharField(
        label=_("Recipient's mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
    )
    province = forms.ChoiceField(
        label=_("Province"), choices=[("", _("Choose…"))] + [(p, p) for p in PROVINCES]
    )
    city = forms.CharField(label=_("City"), max_length=30, widget=forms.Select)
    district = forms.CharField(label=_("District / county"), max_length=30, widget=forms.Select)
    street = forms.CharField(
        label=_("Street address"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    note = forms.CharField(label=_("Note to the seller"), max_length=200, required=False)

    field_order = [
        "recipient", "recipient_phone", "province", "city", "district", "street", "contact", "note"
    ]  # fmt: skip

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        contact = self.fields["contact"]
        contact.required = False
        contact.label = _("E-mail or another mobile for updates (optional)")
        contact.help_text = _("Leave empty to use the recipient's mobile number.")
        # The pickers' options follow the province and city chosen so far (the page works
        # without JavaScript: "update" re-renders them; with it, checkout.js fills them).
        province = self.chosen("province")
        city = self.chosen("city")
        self.fields["city"].widget.choices = [("", _("Choose…"))] + [
            (c, c) for c in cities_of(province)
        ]
        self.fields["district"].widget.choices = [("", _("Choose…"))] + [
            (d, d) for d in districts_of(province, city)
        ]

    def chosen(self, name: str) -> str:
        """What the buyer has chosen for NAME so far (bound data, else the initial value)."""
        value = self.data.get(name) if self.is_bound else self.initial.get(name)
        return value if isinstance(value, str) else ""

    def clean_contact(self) -> dict[str, str]:
        value = self.cleaned_data["contact"].strip()
        if not value:  # the recipient's mobile stands in (see clean)
            return {"email": "", "mobile": ""}
        contact = contact_parse(value)
        if contact is None:
            raise forms.ValidationError(
                _("Enter a valid e-mail address or an 11-digit mainland mobile number."),
                code="contact",
            )
        return {"email": contact.email, "mobile": contact.mobile}

    def clean_recipient_phone(self) -> str:
        return _mobile(self.cleaned_data["recipient_phone"])

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        contact, phone = data.get("contact"), data.get("recipient_phone")
        if contact is not None and not (contact["email"] or contact["mobile"]) and phone:
            data["contact"] = {"email": "", "mobile": phone}
        province, city, district = (data.get(k, "") for k in ("province", "city", "district"))
        if province and city and not city_in(province, city):
            self.add_error(
                "city",
                forms.ValidationError(
                    _("Choose a city of %(province)s.") % {"province": province}, code="city"
                ),
            )
        elif province and city and district and not district_in(province, city, district):
            self.add_error(
                "district",
                forms.ValidationError(
                    _("Choose a district of %(city)s.") % {"city": city}, code="district"
                ),
            )
        return data

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


class CouponChoiceForm(SafeFormMixin, forms.Form):
    """The checkout's coupon: a claim of her wallet, none, or a code she typed.

    Never an error that stops the checkout: a forged value means "the best one" and a code
    that cannot be a code is reported by the coupon step (storefront.coupons.checkout).
    """

    coupon = forms.CharField(required=False, max_length=20)
    code = forms.CharField(
        label=_("Coupon code"),
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def ask(self) -> CouponAsk:
        if not self.is_bound:
            return CouponAsk()
        if not self.is_valid():
            # A NUL, 10 KB: not a code. The step says so, the page stays a page.
            bad_code = "code" in self.errors
            return CouponAsk(choice=AUTO, code="#" if bad_code else "")
        return CouponAsk(
            choice=self.cleaned_data["coupon"].strip() or AUTO,
            code=self.cleaned_data["code"].strip(),
        )


class OrderLookupForm(SafeFormMixin, forms.Form):
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
