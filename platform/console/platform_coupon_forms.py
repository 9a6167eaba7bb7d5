"""Staff console: the form that makes a platform coupon (amounts typed in yuan)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.coupons.models import PlatformCoupon
from billing.coupons.selectors import shops_by_names
from catalog.forms import YuanField
from core.forms import SafeFormMixin

# A budget above ¥10,000,000 is a typing mistake here, not a campaign.
BUDGET_MAX_FEN = 1_000_000_000
SHOPS_MAX = 200
_SPLIT = re.compile(r"[\s,，、;；]+")


class PlatformCouponForm(SafeFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        min_length=4,
        help_text=_("4 to 16 letters A–Z or digits; buyers type it at checkout."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=PlatformCoupon.Kind.choices)
    amount = YuanField(
        label=_("Amount off (yuan)"),
        required=False,
        help_text=_("For a fixed amount off, or an amount off above a minimum."),
    )
    percent_off = forms.IntegerField(
        label=_("Percent off"),
        required=False,
        min_value=1,
        max_value=99,
        help_text=_("For a percentage off: 20 takes 20 percent off (8折)."),
    )
    max_off = YuanField(
        label=_("At most off one order (yuan)"),
        required=False,
        help_text=_("For a percentage off; empty: no cap besides the budget."),
    )
    min_goods = YuanField(
        label=_("Minimum order (yuan)"),
        required=False,
        help_text=_("The goods must reach this amount; empty: no minimum."),
    )
    budget = YuanField(
        label=_("Budget (yuan)"),
        max_fen=BUDGET_MAX_FEN,
        help_text=_("The most the platform pays for this coupon; it stops when spent."),
    )
    starts_at = forms.DateTimeField(
        label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    all_shops = forms.BooleanField(label=_("Every shop"), required=False, initial=True)
    shops = forms.CharField(
        label=_("Only these shops"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("When not for every shop: their addresses or sub-domains, space-separated."),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        if not re.fullmatch(r"[A-Z0-9]{4,16}", code):
            raise forms.ValidationError(_("A code is 4 to 16 letters A–Z or digits."))
        return code

    def clean_shops(self) -> list[Any]:
        names = [n for n in _SPLIT.split(self.cleaned_data.get("shops") or "") if n]
        if len(names) > SHOPS_MAX:
            raise forms.ValidationError(
                _("At most %(n)s shops; for more, choose every shop.") % {"n": SHOPS_MAX}
            )
        found, unknown = shops_by_names(names=names)
        if unknown:
            raise forms.ValidationError(
                _("No shop at: %(names)s") % {"names": ", ".join(n[:60] for n in unknown[:10])}
            )
        return found

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        kind = data.get("kind")
        fixed = kind in (PlatformCoupon.Kind.FIXED, PlatformCoupon.Kind.THRESHOLD)
        if fixed and not data.get("amount") and "amount" not in self.errors:
            self.add_error("amount", _("Enter the amount off."))
        amount = data.get("amount") or 0
        if (
            kind == PlatformCoupon.Kind.THRESHOLD
            and amount
            and (data.get("min_goods") or 0) <= amount
        ):
            self.add_error("min_goods", _("The minimum order must be more than the amount off."))
        if kind == PlatformCoupon.Kind.PERCENT and not data.get("percent_off"):
            self.add_error("percent_off", _("A percentage from 1 to 99."))
        if not data.get("all_shops") and "shops" in data and not data["shops"]:
            self.add_error("shops", _("Choose at least one shop, or every shop."))
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The end must be after the start."))
        return data

    def service_fields(self) -> dict[str, Any]:
        """The cleaned form as billing.coupons.services.platform_coupon_create's arguments."""
        data = self.cleaned_data
        percent = data["kind"] == PlatformCoupon.Kind.PERCENT
        return {
            "name": data["name"],
            "code": data["code"],
            "kind": data["kind"],
            "amount_fen": 0 if percent else data.get("amount") or 0,
            "percent_off": data.get("percent_off") if percent else None,
            "max_off_fen": data.get("max_off") if percent else None,
            "min_goods_fen": data.get("min_goods") or 0,
            "budget_fen": data["budget"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "all_shops": bool(data.get("all_shops")),
            "shop_ids": [t.pk for t in data.get("shops") or []],
        }
