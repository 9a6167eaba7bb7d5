"""The visitor's cart (a token in her cookie). Run inside the shop's schema."""

from __future__ import annotations

import re
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from storefront.models import Cart, CartLine, ListingItem

from .services import MAX_LINES, MAX_QUANTITY, Want

COOKIE = "vs_cart"


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,43}")


def cart_token_valid(token: str | None) -> bool:
    # Tokens are token_urlsafe(32): a forged cookie may decode to anything (a NUL was a 500).
    return token is not None and _TOKEN.fullmatch(token) is not None


def cart_find(token: str | None) -> Cart | None:
    if not cart_token_valid(token):
        return None
    return Cart.objects.filter(token=token).first()


def cart_create() -> Cart:
    return Cart.objects.create(token=secrets.token_urlsafe(32))


@transaction.atomic
def cart_add(*, cart: Cart, item_id: int, quantity: int) -> CartLine:
    item = ListingItem.objects.select_related("listing", "sku__product").filter(pk=item_id).first()
    if item is None or not item.is_available:
        raise ValidationError(_("This item is not available now."), code="unavailable")
    line = CartLine.objects.select_for_update().filter(cart=cart, item=item).first()
    if line is None:
        if cart.lines.count() >= MAX_LINES:
            raise ValidationError(_("Your cart is full."), code="full")
        return CartLine.objects.create(cart=cart, item=item, quantity=quantity)
    if line.quantity + quantity > MAX_QUANTITY:
        raise ValidationError(
            _("At most %(max)d of one item per order.") % {"max": MAX_QUANTITY}, code="quantity"
        )
    line.quantity = F("quantity") + quantity
    line.save(update_fields=["quantity"])
    line.refresh_from_db()
    return line


def cart_line_set(*, cart: Cart, line_id: int, quantity: int) -> None:
    """Change a line's quantity; 0 removes it. Another cart's line is silently not found."""
    lines = CartLine.objects.filter(cart=cart, pk=line_id)
    if quantity == 0:
        lines.delete()
    else:
        lines.update(quantity=quantity)


def cart_lines(cart: Cart | None) -> list[CartLine]:
    if cart is None:
        return []
    return list(cart.lines.select_related("item__listing", "item__sku__product").order_by("id"))


def cart_wants(cart: Cart | None) -> list[Want]:
    return [Want(item_id=line.item_id, quantity=line.quantity) for line in cart_lines(cart)]


def cart_empty(cart: Cart | None) -> None:
    if cart is not None:
        cart.lines.all().delete()
