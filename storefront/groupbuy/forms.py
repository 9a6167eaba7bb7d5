"""Group buys' forms: a buyer's join, the creator's terms."""

from __future__ import annotations

import re
from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import SafeForm
from core.money import yuan_parse
from storefront.models import ListingItem

from .models import GroupBuy
from .services import Terms


class JoinForm(SafeForm):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=10, initial=1)

    def __init__(self, *args, limit: int = 1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limit = limit
        self.fields["quantity"].widget.attrs.update({"min": 1, "max": limit})

    def clean_quantity(self) -> int:
        quantity = self.cleaned_data["quantity"]
        if quantity > self.limit:
            raise ValidationError(
                _("You may buy from 1 to %(max)d in this group buy.") % {"max": self.limit},
                code="limit",
            )
        return quantity


# "1:80, 100:60, 200:50": from how many buyers, at what price in yuan.
_TIER = re.compile(r"\s*(\d{1,7})\s*[:：]\s*(\d{1,7}(?:\.\d{1,2})?)\s*")


def tiers_parse(text: str) -> list[list[int]]:
    tiers = []
    for part in re.split(r"[,，;；\n]+", text.strip()):
        if not part.strip():
            continue
        match = _TIER.fullmatch(part)
        if match is None:
            raise ValidationError(
                _("Write each tier as buyers:price, e.g. 1:80, 100:60, 200:50."), code="tiers"
            )
        tiers.append([int(match.group(1)), yuan_parse(match.group(2))])
    return tiers


def tiers_format(tiers: list[list[int]]) -> str:
    return ", ".join(f"{b}:{p / 100:.2f}".replace(".00", "") for b, p in tiers)


class GroupBuyForm(SafeForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=GroupBuy.Kind.choices)
    item = forms.ModelChoiceField(label=_("Item"), queryset=ListingItem.objects.none())
    title = forms.CharField(label=_("Title"), max_length=60, required=False)
    tiers = forms.CharField(
        label=_("Price tiers"),
        max_length=200,
        help_text=_(
            "Buyers:price in yuan, e.g. 1:80, 100:60, 200:50 (¥80, ¥60 from 100 buyers, ¥50 "
            "from 200). A fixed-size group has one: 1:59."
        ),
    )
    min_buyers = forms.IntegerField(
        label=_("Minimum number of buyers"), min_value=1, max_value=1_000_000, initial=1
    )
    ends_at = forms.DateTimeField(
        label=_("Deadline"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000)
    per_fan_limit = forms.IntegerField(
        label=_("Limit per buyer"), min_value=1, max_value=10, initial=1
    )
    allow_cancel = forms.BooleanField(
        label=_("Buyers may cancel before the deadline"), required=False
    )
    group_size = forms.IntegerField(
        label=_("Group size (fixed-size groups)"), min_value=2, max_value=50, required=False
    )
    lifetime_hours = forms.IntegerField(
        label=_("Group lifetime in hours"), min_value=1, max_value=72, initial=24, required=False
    )
    new_buyers_only = forms.BooleanField(
        label=_("Only buyers new to the shop may join a group"), required=False
    )

    def __init__(self, *args, editing: GroupBuy | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        item = self.fields["item"]
        assert isinstance(item, forms.ModelChoiceField)
        item.queryset = ListingItem.objects.select_related("listing", "sku").filter(
            listing__is_active=True
        )
        item.label_from_instance = lambda i: f"{i.listing.title} · {i.sku.label}"  # type: ignore[method-assign,assignment]
        if editing is not None:
            for name in ("kind", "item", "quantity"):
                self.fields[name].disabled = True
                self.fields[name].required = False
        self.fields_make_safe()

    def clean_tiers(self) -> list[list[int]]:
        return tiers_parse(self.cleaned_data["tiers"])

    def clean_ends_at(self) -> datetime:
        value = self.cleaned_data["ends_at"]
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value

    def terms(self) -> Terms:
        data = self.cleaned_data
        return Terms(
            title=data.get("title") or "",
            tiers=data["tiers"],
            ends_at=data["ends_at"],
            quantity=data.get("quantity") or 0,
            min_buyers=data.get("min_buyers") or 1,
            per_fan_limit=data["per_fan_limit"],
            allow_cancel=data.get("allow_cancel") or False,
            group_size=data.get("group_size") or 0,
            lifetime_hours=data.get("lifetime_hours") or 24,
            new_buyers_only=data.get("new_buyers_only") or False,
        )


def form_initial(campaign: GroupBuy) -> dict:
    return {
        "kind": campaign.kind,
        "item": campaign.item_id,
        "title": campaign.title,
        "tiers": tiers_format(campaign.tiers),
        "min_buyers": campaign.min_buyers,
        "ends_at": timezone.localtime(campaign.ends_at).strftime("%Y-%m-%dT%H:%M"),
        "quantity": campaign.quantity,
        "per_fan_limit": campaign.per_fan_limit,
        "allow_cancel": campaign.allow_cancel,
        "group_size": campaign.group_size or None,
        "lifetime_hours": campaign.lifetime_hours,
        "new_buyers_only": campaign.new_buyers_only,
    }
