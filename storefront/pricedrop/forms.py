"""The creator's price drop form (shop admin). Amounts are typed in yuan and kept in fen."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.forms import YuanField
from core.forms import SafeForm
from core.money import yuan_plain
from storefront.coupons.forms import LOCAL_FORMATS, LocalDateTimeInput
from storefront.models import ListingItem

from .models import PriceDrop
from .services import PER_FAN_MAX, QUANTITY_MAX, Terms


class ItemChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: ListingItem) -> str:
        options = " ".join(str(v) for v in (obj.sku.options or {}).values())
        return f"{obj.listing.title} {options}".strip() + f" ({yuan_plain(obj.retail_price_fen)})"


class PriceDropForm(SafeForm):
    item = ItemChoice(
        label=_("Item"),
        queryset=ListingItem.objects.filter(listing__is_active=True)
        .select_related("listing", "sku")
        .order_by("listing__title", "id"),
    )
    title = forms.CharField(
        label=_("Name"), max_length=60, help_text=_("What fans see, e.g. “转发降价 辅食碗”.")
    )
    start_price = YuanField(label=_("Start price (¥)"))
    step = YuanField(
        label=_("Step (¥)"), help_text=_("How much each counted share lowers the price.")
    )
    floor_price = YuanField(
        label=_("Floor price (¥)"), help_text=_("The price never goes below this.")
    )
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=QUANTITY_MAX,
        help_text=_("Taken from the supplier's stock when the price drop starts."),
    )
    per_fan_limit = forms.IntegerField(
        label=_("How many per fan"), min_value=1, max_value=PER_FAN_MAX, initial=1
    )
    starts_at = forms.DateTimeField(
        label=_("Starts"), widget=LocalDateTimeInput(), input_formats=LOCAL_FORMATS
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"), widget=LocalDateTimeInput(), input_formats=LOCAL_FORMATS
    )

    def __init__(self, *args: Any, campaign: PriceDrop | None = None, **kwargs: Any) -> None:
        self.campaign = campaign
        super().__init__(*args, **kwargs)
        if campaign is not None:  # a price drop stays on its item
            self.fields["item"].disabled = True
            self.fields["item"].required = False
            if campaign.status != PriceDrop.Status.SCHEDULED:
                self.fields["starts_at"].disabled = True
                self.fields["starts_at"].required = False

    def clean_item(self) -> ListingItem | None:
        if self.campaign is not None:
            return self.campaign.item
        return self.cleaned_data["item"]

    def clean_starts_at(self) -> Any:
        if self.campaign is not None and self.campaign.status != PriceDrop.Status.SCHEDULED:
            return self.campaign.starts_at
        return self.cleaned_data["starts_at"]

    def terms(self) -> Terms:
        data = self.cleaned_data
        return Terms(
            title=data["title"],
            start_price_fen=data["start_price"],
            step_fen=data["step"],
            floor_fen=data["floor_price"],
            quantity=data["quantity"],
            per_fan_limit=data["per_fan_limit"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
        )

    @staticmethod
    def initial_from(campaign: PriceDrop) -> dict[str, Any]:
        return {
            "item": campaign.item_id,
            "title": campaign.title,
            "start_price": yuan_plain(campaign.start_price_fen),
            "step": yuan_plain(campaign.step_fen),
            "floor_price": yuan_plain(campaign.floor_fen),
            "quantity": campaign.quantity,
            "per_fan_limit": campaign.per_fan_limit,
            "starts_at": campaign.starts_at,
            "ends_at": campaign.ends_at,
        }


# The service names amounts in fen; the form asks for them in yuan under these names.
SERVICE_FIELDS = {
    "start_price_fen": "start_price",
    "step_fen": "step",
    "floor_fen": "floor_price",
}
