"""The creator's coupon form (shop admin). Amounts are typed in yuan and kept in fen."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.forms import YuanField
from core.forms import SafeForm
from core.money import yuan_plain
from storefront.models import Listing

from .models import Coupon

CODE = re.compile(r"^[A-Z0-9]{4,16}$")
# Datetime inputs as the browser's <input type="datetime-local"> sends them (shop's time zone).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class ListingChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Listing) -> str:
        return obj.title


class CouponForm(SafeForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=60,
        help_text=_("What fans see on the coupon, e.g. “新人立减 10 元”."),
    )
    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        required=False,
        help_text=_(
            "4–16 letters and digits, used in the coupon's link and typed at checkout. "
            "Leave empty and one is made for you."
        ),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Coupon.Kind.choices, widget=forms.RadioSelect)
    amount = YuanField(
        label=_("Amount off (¥)"),
        required=False,
        help_text=_("For an amount-off or spend-and-save coupon."),
    )
    percent_off = forms.IntegerField(
        label=_("Percent off"),
        min_value=1,
        max_value=99,
        required=False,
        help_text=_("For a percentage coupon: 20 takes 20 percent off (8折)."),
    )
    max_off = YuanField(
        label=_("At most (¥)"),
        required=False,
        help_text=_("The most a percentage coupon takes off one order. Empty: no cap."),
    )
    min_goods = YuanField(
        label=_("Goods total at least (¥)"),
        required=False,
        help_text=_("The 满 of 满减: the coupon works only when the goods come to this much."),
    )
    scope = forms.ChoiceField(
        label=_("Valid on"), choices=Coupon.Scope.choices, widget=forms.RadioSelect
    )
    listings = ListingChoices(
        label=_("Goods"),
        queryset=Listing.objects.order_by("title", "id"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    starts_at = forms.DateTimeField(
        label=_("Starts"), widget=LocalDateTimeInput(), input_formats=LOCAL_FORMATS
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"), widget=LocalDateTimeInput(), input_formats=LOCAL_FORMATS
    )
    total_limit = forms.IntegerField(
        label=_("How many in total"),
        min_value=1,
        max_value=1_000_000,
        required=False,
        help_text=_("Empty: as many as fans claim."),
    )
    per_fan_limit = forms.IntegerField(
        label=_("How many per fan"), min_value=1, max_value=99, initial=1
    )
    new_buyers_only = forms.BooleanField(
        label=_("Only for a fan's first order in this shop"), required=False
    )
    allow_with_campaign = forms.BooleanField(
        label=_("Also on flash sale, group buy and price-drop prices"), required=False
    )
    purpose = forms.ChoiceField(
        label=_("Who gets it"),
        choices=Coupon.Purpose.choices,
        widget=forms.RadioSelect,
        initial=Coupon.Purpose.PUBLIC,
    )
    reward_monthly_cap = forms.IntegerField(
        label=_("Rewards per sharer per month"),
        min_value=1,
        max_value=31,
        initial=5,
        help_text=_("For a sharing reward: at most this many per fan who shares, each month."),
    )

    def __init__(self, *args: Any, coupon: Coupon | None = None, **kwargs: Any) -> None:
        self.coupon = coupon
        super().__init__(*args, **kwargs)
        if coupon is not None:
            # Printed on QR codes and shared links already: a coupon keeps its code.
            self.fields["code"].disabled = True
            self.fields["code"].initial = coupon.code
            self.fields["code"].help_text = _("A coupon keeps its code: it is in shared links.")

    def clean_code(self) -> str:
        if self.coupon is not None:
            return self.coupon.code
        code = self.cleaned_data["code"].strip().upper()
        if not code:
            return ""
        if not CODE.match(code):
            raise forms.ValidationError(_("4–16 letters A–Z and digits, nothing else."))
        taken = Coupon.objects.filter(code=code)
        if self.coupon is not None:
            taken = taken.exclude(pk=self.coupon.pk)
        if taken.exists():
            raise forms.ValidationError(_("Another coupon of your shop has this code."))
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind in (Coupon.Kind.FIXED, Coupon.Kind.THRESHOLD) and not data.get("amount"):
            self.add_error("amount", _("Enter the amount the coupon takes off."))
        if kind == Coupon.Kind.PERCENT and not data.get("percent_off"):
            self.add_error("percent_off", _("Enter the percentage the coupon takes off."))
        if kind == Coupon.Kind.THRESHOLD:
            if not data.get("min_goods"):
                self.add_error("min_goods", _("A spend-and-save coupon needs the amount to spend."))
            elif data.get("amount") and data["amount"] >= data["min_goods"]:
                self.add_error("amount", _("It must take off less than the amount to spend."))
        if kind == Coupon.Kind.PERCENT and data.get("max_off") == 0:
            self.add_error("max_off", _("Enter more than 0, or leave it empty for no cap."))
        if data.get("scope") == Coupon.Scope.LISTINGS and not data.get("listings"):
            self.add_error("listings", _("Choose the goods the coupon is for."))
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The end must come after the start."))
        return data

    def fields_for_service(self) -> dict[str, Any]:
        """The cleaned form as coupon_create / coupon_update take it (fen, not yuan)."""
        d = self.cleaned_data
        percent = d["kind"] == Coupon.Kind.PERCENT
        return {
            "name": d["name"].strip(),
            "kind": d["kind"],
            "amount_fen": 0 if percent else d["amount"],
            "percent_off": d["percent_off"] if percent else None,
            "max_off_fen": d["max_off"] if percent else None,
            "min_goods_fen": d["min_goods"] or 0,
            "scope": d["scope"],
            "listings": list(d["listings"]) if d["scope"] == Coupon.Scope.LISTINGS else [],
            "starts_at": d["starts_at"],
            "ends_at": d["ends_at"],
            "total_limit": d["total_limit"],
            "per_fan_limit": d["per_fan_limit"],
            "new_buyers_only": d["new_buyers_only"],
            "allow_with_campaign": d["allow_with_campaign"],
            "purpose": d["purpose"],
            "reward_monthly_cap": d["reward_monthly_cap"],
        }

    @classmethod
    def initial_from(cls, coupon: Coupon) -> dict[str, Any]:
        return {
            "name": coupon.name,
            "code": coupon.code,
            "kind": coupon.kind,
            # Yuan fields show yuan ("10.00"), not the fen they store.
            "amount": yuan_plain(coupon.amount_fen) if coupon.amount_fen else "",
            "percent_off": coupon.percent_off,
            "max_off": yuan_plain(coupon.max_off_fen),
            "min_goods": yuan_plain(coupon.min_goods_fen) if coupon.min_goods_fen else "",
            "scope": coupon.scope,
            "listings": list(coupon.listings.all()),
            "starts_at": coupon.starts_at,
            "ends_at": coupon.ends_at,
            "total_limit": coupon.total_limit,
            "per_fan_limit": coupon.per_fan_limit,
            "new_buyers_only": coupon.new_buyers_only,
            "allow_with_campaign": coupon.allow_with_campaign,
            "purpose": coupon.purpose,
            "reward_monthly_cap": coupon.reward_monthly_cap,
        }
