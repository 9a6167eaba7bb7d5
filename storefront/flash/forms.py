"""The flash sale form (the creator's shop admin and the platform console). Prices are typed in
yuan and kept in fen; times are the shop's local time (datetime-local inputs)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.forms import YuanField
from core.forms import SafeForm
from core.money import yuan_plain
from storefront.coupons.forms import LOCAL_FORMATS, LocalDateTimeInput
from storefront.models import ListingItem

from .models import FlashSale
from .services import LIMIT_MAX, PAY_MINUTES_MAX, QUANTITY_MAX, Terms

# The service names these in fen; the form asks for yuan under this name.
SERVICE_FIELDS = {"price_fen": "price", "item": "item"}


class ItemChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: ListingItem) -> str:
        options = " ".join(str(v) for v in (obj.sku.options or {}).values())
        label = f"{obj.listing.title} {options}".strip()
        return f"{label} (¥{yuan_plain(obj.retail_price_fen)}, {obj.sku.stock})"


def items_for_sale() -> Any:
    return (
        ListingItem.objects.filter(listing__is_active=True)
        .select_related("listing", "sku")
        .order_by("listing__title", "id")
    )


class FlashSaleForm(SafeForm):
    item = ItemChoice(label=_("Item"), queryset=ListingItem.objects.none())
    title = forms.CharField(
        label=_("Name"),
        max_length=60,
        required=False,
        help_text=_("What fans see, e.g. “10 点秒杀 辅食碗”. Empty: the goods' title."),
    )
    price = YuanField(
        label=_("Flash price (¥)"),
        help_text=_("Inside the supplier's bounds, and not above your shop's price."),
    )
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=QUANTITY_MAX,
        help_text=_("Taken out of the supplier's stock as soon as you schedule the sale."),
    )
    per_buyer_limit = forms.IntegerField(
        label=_("How many per buyer"), min_value=1, max_value=LIMIT_MAX, initial=1
    )
    announce_at = forms.DateTimeField(
        label=_("Announced from"),
        widget=LocalDateTimeInput(),
        input_formats=LOCAL_FORMATS,
        help_text=_("From then on fans see the countdown and can pre-register (预约)."),
    )
    starts_at = forms.DateTimeField(
        label=_("Starts"), widget=LocalDateTimeInput(), input_formats=LOCAL_FORMATS
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"), widget=LocalDateTimeInput(), input_formats=LOCAL_FORMATS
    )
    pay_minutes = forms.IntegerField(
        label=_("Minutes to pay"),
        min_value=1,
        max_value=PAY_MINUTES_MAX,
        initial=15,
        help_text=_("A grab not paid in time goes back into the sale for the next buyer."),
    )
    registered_only = forms.BooleanField(
        label=_("Only fans who pre-registered may buy"), required=False
    )

    def __init__(self, *args: Any, sale: FlashSale | None = None, **kwargs: Any) -> None:
        self.sale = sale
        super().__init__(*args, **kwargs)
        field = self.fields["item"]
        assert isinstance(field, ItemChoice)
        field.queryset = items_for_sale()
        if sale is not None:  # a sale stays on its item
            field.disabled = True
            field.required = False

    def clean_item(self) -> ListingItem | None:
        if self.sale is not None:
            return self.sale.item
        return self.cleaned_data["item"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends, announce = data.get("starts_at"), data.get("ends_at"), data.get("announce_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The end must come after the start."))
        if starts and announce and announce > starts:
            self.add_error("announce_at", _("The announcement must come before the start."))
        return data

    def terms(self) -> Terms:
        d = self.cleaned_data
        return Terms(
            price_fen=d["price"],
            quantity=d["quantity"],
            per_buyer_limit=d["per_buyer_limit"],
            announce_at=d["announce_at"],
            starts_at=d["starts_at"],
            ends_at=d["ends_at"],
            pay_minutes=d["pay_minutes"],
            registered_only=d["registered_only"],
            title=(d.get("title") or "").strip(),
        )

    @classmethod
    def initial_from(cls, sale: FlashSale) -> dict[str, Any]:
        return {
            "item": sale.item,
            "title": sale.title,
            "price": yuan_plain(sale.price_fen),
            "quantity": sale.quantity,
            "per_buyer_limit": sale.per_buyer_limit,
            "announce_at": sale.announce_at,
            "starts_at": sale.starts_at,
            "ends_at": sale.ends_at,
            "pay_minutes": sale.pay_minutes,
            "registered_only": sale.registered_only,
        }
