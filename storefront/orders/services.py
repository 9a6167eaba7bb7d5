"""Placing, paying and expiring a shop's orders. Callers run these inside the shop's schema.

The stock of a catalog SKU is one number shared by every shop: an order takes it with one
conditional UPDATE per SKU (catalog.services.stock) inside the order's transaction,
so a failure anywhere leaves neither an order nor a reservation behind.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.coupons.services import (
    platform_coupon_confirm,
    platform_coupon_hold,
    platform_coupon_release,
)
from billing.fulfilment.services import (
    FulfilmentLine,
    FulfilmentOrder,
    ShipTo,
    return_days_for,
    supplier_orders_create_many,
)
from billing.ledger import CaptureLine, capture_post, capture_split
from billing.models import Payment
from billing.payments.base import ChannelError, Payer
from billing.services import payment_create, payment_expire
from catalog.services.stock import sku_stock_release, sku_stock_reserve
from core.shop import current_schema, current_shop, current_shop_id, in_shop
from storefront.analytics.counting import order_paid_count
from storefront.campaigns.claims import CampaignClaim
from storefront.campaigns.registry import campaign_kind
from storefront.coupons.checkout import CouponAsk, CouponPlan, coupons_plan
from storefront.coupons.services import coupon_hold, coupons_confirm, coupons_release
from storefront.models import Fan, ListingItem, Order, OrderLine, ShareLink
from storefront.pricing import CampaignPrice, Funder
from storefront.shopapi.events import order_paid_emit

from .selectors import payment_open_for
from .shipping import delivery_fees

logger = logging.getLogger(__name__)

MAX_QUANTITY = 99
MAX_LINES = 50
# Unambiguous characters only: order numbers are read out on the phone and typed in.
_NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class OutOfStock(ValidationError):
    """Another buyer took the last units between the cart and the order."""


class OrdersLimited(ValidationError):
    """Too many unpaid orders for this buyer or this client: stock must not be held hostage."""


# Units of one SKU any order may take, however little stock is left (a household's quantity).
UNITS_ALWAYS = 5


@dataclass(frozen=True)
class Buyer:
    mobile: str
    email: str
    recipient: str
    recipient_phone: str
    province: str
    city: str
    district: str
    street: str
    note: str = ""


@dataclass(frozen=True)
class Want:
    item_id: int
    quantity: int


def _tenant():
    if not in_shop():
        raise RuntimeError("orders live in a shop's schema: run inside tenant_context")
    return current_shop()


def order_number_new() -> str:
    stamp = timezone.localtime().strftime("%y%m%d%H%M")
    return stamp + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))


def _quantity_check(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise ValidationError(
            _("The quantity must be a whole number from 1 to %(max)d.") % {"max": MAX_QUANTITY},
            code="quantity",
        )
    return value


def _wants_merge(wants: Sequence[Want]) -> dict[int, int]:
    if not wants:
        raise ValidationError(_("Your cart is empty."), code="empty")
    merged: dict[int, int] = defaultdict(int)
    for want in wants:
        merged[int(want.item_id)] += _quantity_check(want.quantity)
    if len(merged) > MAX_LINES:
        raise ValidationError(_("Too many different goods in one order."), code="too_many")
    for qty in merged.values():
        _quantity_check(qty)
    return dict(merged)


def _fan_for(buyer: Buyer) -> Fan:
    """The shop's fan with this mobile (or e-mail), made on first order."""
    lookup = {"mobile": buyer.mobile} if buyer.mobile else {"email": buyer.email.lower()}
    fan = Fan.objects.filter(**lookup).first()
    if fan is not None:
        return fan
    try:
        with transaction.atomic():
            return Fan.objects.create(name=buyer.recipient, **lookup)
    except IntegrityError:  # a concurrent first order by the same buyer
        return Fan.objects.get(**lookup)


def order_quote(
    *,
    wants: Sequence[Want],
    province: str | None = None,
    fan: Fan | None = None,
    coupon: CouponAsk | None = None,
    campaign: CampaignClaim | None = None,
) -> dict:
    """Prices for the checkout page, from the server's listing (never from the request).

    FAN: the signed-in fan, whose wallet's coupons may be used; COUPON: what she asked for (by
    default the best coupon of her wallet). "plan" says which coupons apply, what they take off
    and why one she asked for does not; "goods_fen" is after the coupons. CAMPAIGN: the claim a
    campaign granted (its item at its price; WANTS are then that item alone).
    """
    qty = _wants_merge(wants)
    items = _items_load(qty, campaign=campaign)
    _units_check(items, qty, campaign=campaign)
    plan = coupons_plan(
        items=items,
        quantities=qty,
        fan=fan,
        verified=fan is not None,
        ask=coupon or CouponAsk(),
        campaigns=_campaign_prices(campaign),
    )
    priced = plan.priced
    shipping = (
        sum(delivery_fees(items=items, quantities=qty, province=province).values())
        if province
        else None
    )
    return {
        "items": items,
        "quantities": qty,
        "rows": [(items[line.item_id], line) for line in priced.lines],
        "list_goods_fen": priced.list_goods_fen,
        "goods_fen": priced.goods_fen,
        "shipping_fen": shipping,
        "plan": plan,
    }


def units_cap(stock: int) -> int:
    """The most units of one SKU one order may take when STOCK units are left.

    The rule: UNITS_ALWAYS (5) units whatever the stock, more only when the stock is plentiful:
    up to VSTORE_ORDER_STOCK_SHARE_PERCENT (25) percent of it, never above MAX_QUANTITY (99).
    So 4 left: 4 (all of them, one household); 40 left: 10; 400 left: 99. With the unpaid-order
    limits per fan and per client, nobody can hold a scarce good for the payment window.
    """
    share = stock * settings.VSTORE_ORDER_STOCK_SHARE_PERCENT // 100
    return min(MAX_QUANTITY, max(UNITS_ALWAYS, share))


def _campaign_prices(campaign: CampaignClaim | None) -> dict[int, CampaignPrice]:
    if campaign is None:
        return {}
    return {campaign.item_id: CampaignPrice(campaign.source, campaign.unit_price_fen)}


def _campaign_wants_check(qty: dict[int, int], campaign: CampaignClaim | None) -> None:
    """A campaign's checkout buys its item alone, in the quantity it granted."""
    if campaign is not None and qty != {campaign.item_id: campaign.quantity}:
        raise ValidationError(_("This campaign link is not valid."), code="campaign_ticket")


def _units_check(
    items: dict[int, ListingItem], qty: dict[int, int], *, campaign: CampaignClaim | None = None
) -> None:
    """Refuse a quantity above units_cap for the SKU's stock. More than the stock itself is
    left to the reservation, which says the goods sold out. A campaign's units are its own
    (its quota, out of the SKU already), so its line is not checked here."""
    _campaign_wants_check(qty, campaign)
    for item_id, quantity in sorted(qty.items()):
        if campaign is not None and item_id == campaign.item_id:
            continue
        stock = items[item_id].sku.stock
        cap = units_cap(stock)
        if cap < quantity <= stock:
            raise ValidationError(
                _("Only %(max)d of %(title)s (%(option)s) can be ordered at a time.")
                % {
                    "max": cap,
                    "title": items[item_id].listing.title,
                    "option": items[item_id].sku.label,
                },
                code="units_cap",
            )


def _items_load(
    qty: dict[int, int], *, campaign: CampaignClaim | None = None
) -> dict[int, ListingItem]:
    items = {
        i.pk: i
        for i in ListingItem.objects.select_related("listing", "sku__product__shipping_template")
        .prefetch_related("sku__product__shipping_template__rules")
        .filter(pk__in=qty)
    }
    for item_id in qty:
        item = items.get(item_id)
        if item is None:
            raise ValidationError(_("Something in your cart is no longer sold."), code="gone")
        # A campaign's item may show sold out in the shop: the campaign took its units.
        sold_out_ok = campaign is not None and item_id == campaign.item_id
        if not (item.is_available or (sold_out_ok and item.availability == "sold_out")):
            raise ValidationError(
                _("%(title)s is not available now.") % {"title": item.listing.title},
                code="unavailable",
            )
    return items


def _client_key(client: str) -> str:
    return f"orders-unpaid-client:{client}"


def _client_numbers(client: str) -> list[str]:
    """Numbers of the orders CLIENT placed in this shop within the payment window (the cache's
    key carries the shop's schema). Orders keep no client address, so this list says which
    orders to count; their status in the database says which are still unpaid."""
    now = timezone.now().timestamp()
    entries = cache.get(_client_key(client)) or []
    return [number for number, deadline in entries if deadline > now]


def _client_remember(client: str, order: Order) -> None:
    now = timezone.now().timestamp()
    entries = [e for e in cache.get(_client_key(client)) or [] if e[1] > now]
    entries.append((order.number, order.pay_deadline.timestamp()))
    minutes = settings.VSTORE_ORDER_PAY_MINUTES
    cache.set(_client_key(client), entries[-200:], minutes * 60 + 60)


def _unpaid_limits_check(*, fan: Fan, client: str) -> Fan:
    """Refuse a new order while FAN or CLIENT holds too many unpaid ones; returns FAN locked.

    Exact under concurrency: the fan's row (and an advisory lock per client and shop) is held
    until the order commits, so 20 checkouts at once count one after another. The client lock
    is taken first and the fan's second, before any SKU row: always in that order, no deadlock.
    """
    now = timezone.now()
    unpaid = Order.objects.filter(status=Order.Status.PENDING_PAYMENT, pay_deadline__gt=now)
    if client:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                [f"orders-client:{current_schema()}:{client}"],
            )
        numbers = _client_numbers(client)
        if numbers and (
            unpaid.filter(number__in=numbers).count() >= settings.VSTORE_ORDER_UNPAID_PER_CLIENT
        ):
            raise OrdersLimited(
                _(
                    "Too many unpaid orders were placed from your network. Pay for one of "
                    "them or wait until they expire, then try again."
                ),
                code="client_unpaid_limit",
            )
    fan = Fan.objects.select_for_update().get(pk=fan.pk)
    limit = settings.VSTORE_ORDER_UNPAID_PER_FAN
    if unpaid.filter(fan=fan).count() >= limit:
        raise OrdersLimited(
            ngettext(
                "You already have %(count)d unpaid order in this shop. Pay for it or wait "
                "until it expires, then order again.",
                "You already have %(count)d unpaid orders in this shop. Pay for one of them "
                "or wait until it expires, then order again.",
                limit,
            )
            % {"count": limit},
            code="fan_unpaid_limit",
        )
    return fan


@transaction.atomic
def order_place(
    *,
    wants: Sequence[Want],
    buyer: Buyer,
    share_code: str = "",
    fan: Fan | None = None,
    client: str = "",
    coupon: CouponAsk | None = None,
    campaign: CampaignClaim | None = None,
    source_page_id: int | None = None,
) -> Order:
    """Create a pending_payment order for WANTS, reserving the shared stock; all or nothing.

    Prices, shipping and the supplier's terms come from the database at this moment. If any
    SKU lacks the stock, OutOfStock is raised and nothing is reserved or written. A buyer, or a
    CLIENT address (core.clients.client_address), holding too many unpaid orders gets
    OrdersLimited, and a quantity above units_cap a ValidationError: no stock held hostage.

    FAN, when given, is the signed-in fan (the order is hers, and her wallet's coupons may be
    used); without it the fan is found by the buyer's contact, and only a typed code applies.
    COUPON: what she asked for (storefront.coupons.checkout). A coupon that cannot be taken
    as asked (used up meanwhile, another tab took it, no longer valid) is a ValidationError,
    never a silently different price. The coupons are held in this transaction: exactly as
    many orders as a coupon's limits allow get it, however many check out at once.

    SOURCE_PAGE_ID: the article the buyer came from (analytics' per-article figures).

    CAMPAIGN: a claim a campaign granted (storefront.campaigns). Its line is priced at the
    campaign's price, takes no SKU stock (the campaign's quota holds it), records the campaign
    on the OrderLine, and the campaign's kind binds the order in this transaction
    (`order_attach`; its refusal rolls everything back).
    """
    _tenant()
    qty = _wants_merge(wants)
    items = _items_load(qty, campaign=campaign)
    _units_check(items, qty, campaign=campaign)
    kind = campaign_kind(campaign.kind) if campaign is not None else None
    if campaign is not None and kind is None:
        raise ValidationError(_("This campaign link is not valid."), code="campaign_ticket")
    fees = delivery_fees(items=items, quantities=qty, province=buyer.province)
    verified = fan is not None
    # Limits before stock: a refused checkout never waits on (or holds) a SKU's row.
    fan = _unpaid_limits_check(fan=fan or _fan_for(buyer), client=client)
    # Under the fan's lock: her claims and tabs are counted one after another.
    plan = coupons_plan(
        items=items,
        quantities=qty,
        fan=fan,
        verified=verified,
        ask=coupon or CouponAsk(),
        campaigns=_campaign_prices(campaign),
    )
    if plan.problem:
        raise ValidationError(plan.problem, code="coupon")
    # Rows that must not be double-used are taken in one order (by SKU id): no deadlocks.
    for item_id in sorted(qty, key=lambda i: items[i].sku_id):
        if campaign is not None and item_id == campaign.item_id:
            continue  # the campaign's quota holds its units
        if not sku_stock_reserve(sku_id=items[item_id].sku_id, quantity=qty[item_id]):
            raise OutOfStock(
                _("Sorry, %(title)s (%(option)s) sold out while you were ordering.")
                % {"title": items[item_id].listing.title, "option": items[item_id].sku.label},
                code="out_of_stock",
            )
    priced = plan.priced
    goods = priced.goods_fen
    shipping = sum(fees.values())
    share = ShareLink.objects.filter(code=share_code).first() if share_code else None
    minutes = settings.VSTORE_ORDER_PAY_MINUTES
    pay_deadline = timezone.now() + timedelta(minutes=minutes)
    if campaign is not None and campaign.pay_deadline is not None:
        pay_deadline = min(pay_deadline, campaign.pay_deadline)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    number=order_number_new(),
                    fan=fan,
                    contact_mobile=buyer.mobile,
                    contact_email=buyer.email.lower(),
                    recipient=buyer.recipient,
                    recipient_phone=buyer.recipient_phone,
                    province=buyer.province,
                    city=buyer.city,
                    district=buyer.district,
                    street=buyer.street,
                    note=buyer.note,
                    goods_fen=goods,
                    shipping_fen=shipping,
                    total_fen=goods + shipping,
                    share_link=share if share and share.sharer_id != fan.pk else None,
                    source_page_id=source_page_id,
                    pay_deadline=pay_deadline,
                )
            break
        except IntegrityError:  # the random part of the number collided
            continue
    else:
        raise RuntimeError("could not allot an order number")
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            listing_id=items[i].listing_id,
            item=items[i],
            sku=items[i].sku,
            supplier_id=items[i].sku.product.supplier_id,
            title=items[i].listing.title,
            option_label=items[i].sku.label,
            quantity=q,
            retail_price_fen=priced.line(i).unit_price_fen,
            supply_price_fen=items[i].sku.supply_price_fen,
            shipping_fen=fees.get(i, 0),
            return_days=return_days_for(product=items[i].sku.product),
            creator_discount_fen=priced.line(i).coupon_fen(Funder.CREATOR),
            platform_discount_fen=priced.line(i).coupon_fen(Funder.PLATFORM),
            campaign=priced.line(i).campaign,
        )
        for i, q in sorted(qty.items())
    )
    if campaign is not None and kind is not None:
        kind.order_attach(order=order, claim=campaign)
    _coupons_hold(order=order, plan=plan, fan=fan)
    if client:
        # Still under the client's lock: the next checkout from it counts this order. If the
        # transaction rolls back, the number names no order and counts as nothing.
        _client_remember(client, order)
    return order


def _coupons_hold(*, order: Order, plan: CouponPlan, fan: Fan) -> None:
    """Hold the plan's coupons for ORDER (its transaction): the creator's claim, then the
    platform's budget. Either refusing rolls the whole order back."""
    if plan.coupon is not None and plan.creator_fen:
        coupon_hold(
            order=order, claim=plan.claim, coupon=plan.coupon, fan=fan, amount_fen=plan.creator_fen
        )
    if plan.platform is not None and plan.platform_fen:
        platform_coupon_hold(
            coupon_id=plan.platform.coupon_id,
            tenant_id=current_shop_id(),
            order_number=order.number,
            amount_fen=plan.platform_fen,
        )


def order_coupons_release(*, order: Order) -> None:
    """Give ORDER's coupons back: the creator's claim to the fan's wallet and the platform's
    amount to its budget (the order expired, was cancelled, or was refunded in full).
    Idempotent."""
    coupons_release(order=order)
    platform_coupon_release(tenant_id=current_shop_id(), order_number=order.number)


def order_payment_start(
    *, order: Order, provider: str, return_url: str, channel: str = "", payer: Payer | None = None
) -> Payment:
    """Open (or reuse) the order's payment with PROVIDER through CHANNEL; the buyer goes to its
    checkout_url. Another channel opens another payment (WeChat Pay takes an out_trade_no
    through one trade type only). A channel that cannot be used here is a ValidationError
    (code "channel"), raised before any payment is written."""
    if order.status != Order.Status.PENDING_PAYMENT:
        raise ValidationError(_("This order cannot be paid now."), code="not_payable")
    if order.pay_deadline <= timezone.now():
        raise ValidationError(_("The time to pay for this order has passed."), code="late")
    tenant = _tenant()
    open_payment = payment_open_for(order=order, provider=provider, channel=channel)
    if open_payment is not None:
        return open_payment
    try:
        return payment_create(
            tenant=tenant,
            order_number=order.number,
            amount=order.total_fen,
            currency=order.currency,
            provider=provider,
            expires_at=order.pay_deadline,
            description=_order_description(order),
            return_url=return_url,
            channel=channel,
            payer=payer,
        )
    except ChannelError as exc:
        logger.info("order %s: channel %s/%s refused: %s", order.number, provider, channel, exc)
        raise ValidationError(
            _("This way to pay does not work in this browser. Please choose another."),
            code="channel",
        ) from exc


def _order_description(order: Order) -> str:
    """What the provider's pay page and the buyer's payment record show: the order number
    first (the one number she knows the order by), then the goods."""
    first = order.lines.first()
    more = order.lines.count() - 1
    goods = first.title if first else ""
    if more > 0:
        goods += _(" and %(n)d more") % {"n": more}
    text = _("Order %(number)s") % {"number": order.number}
    return (f"{text} · {goods}" if goods else text)[:120]


def capture_lines(lines: Sequence[OrderLine]) -> list[CaptureLine]:
    """Order lines as the ledger takes them, in the same order (capture_split keeps it)."""
    return [
        CaptureLine(
            supplier_id=line.supplier_id,
            quantity=line.quantity,
            supply_price_fen=line.supply_price_fen,
            retail_price_fen=line.retail_price_fen,
            shipping_fen=line.shipping_fen,
            creator_discount_fen=line.creator_discount_fen,
            platform_discount_fen=line.platform_discount_fen,
        )
        for line in lines
    ]


def order_mark_paid(*, order_number: str, payment_id: int) -> Order:
    """The payment was captured: mark the order paid and post the capture; idempotent.

    Hands the paid lines to their suppliers (one SupplierOrder each) in the same transaction.
    A capture for an order that expired meanwhile cannot happen: billing refuses to capture an
    expired payment and refunds it, and the order expires only after its payments expired.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(number=order_number)
        payment = Payment.objects.get(pk=payment_id, tenant=_tenant(), order_number=order_number)
        if order.status == Order.Status.PENDING_PAYMENT:
            order.status = Order.Status.PAID
            order.paid_at = payment.captured_at or timezone.now()
            order.save(update_fields=["status", "paid_at"])
            coupons_confirm(order=order)
            platform_coupon_confirm(tenant_id=current_shop_id(), order_number=order.number)
            order_paid_count(order_id=order.pk, share_link_id=order.share_link_id)  # analytics
            order_paid_emit(order=order)  # the shop's order.paid webhooks (storefront.shopapi)
            for line in order.lines.exclude(campaign="").order_by("id"):
                kind = campaign_kind(line.campaign)
                if kind is not None:
                    kind.order_paid(order=order, line=line)
        elif order.status != Order.Status.PAID:
            logger.error(
                "payment %s captured for order %s in state %s",
                payment.out_trade_no, order.number, order.status,
            )  # fmt: skip
            return order
        lines = list(order.lines.order_by("id"))
        capture_post(payment=payment, lines=capture_lines(lines))
        if not _fulfilment_held(order=order, lines=lines):
            _fulfil(order=order, payment=payment, lines=lines)
    return order


def _fulfilment_held(*, order: Order, lines: Sequence[OrderLine]) -> bool:
    """A campaign may hold the supplier orders back (a group buy ships once it succeeded)."""
    for line in lines:
        kind = campaign_kind(line.campaign) if line.campaign else None
        if kind is not None and kind.holds_fulfilment(order=order):
            return True
    return False


def order_fulfil(*, order_number: str) -> Order:
    """Hand a paid ORDER's lines to their suppliers now (a campaign that held its fulfilment
    calls this when it may ship). The lines are read as they are now, so a price the campaign
    lowered meanwhile (a group buy's final tier) is what the split uses. Idempotent: billing
    creates a supplier order once per order and supplier."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(number=order_number)
        if order.status != Order.Status.PAID:
            return order
        payment = (
            Payment.objects.filter(tenant=_tenant(), order_number=order_number)
            .exclude(captured_at=None)
            .order_by("pk")
            .first()
        )
        if payment is None:
            raise ValidationError(f"order {order_number} has no captured payment")
        _fulfil(order=order, payment=payment, lines=list(order.lines.order_by("id")))
    return order


def orders_fulfil_many(*, order_numbers: Sequence[str]) -> None:
    """order_fulfil for many orders, in one transaction and a few statements (a group buy's
    close hands thousands over at once). The orders not paid are left as they are; one paid
    order without a captured payment is a ValidationError and nothing is handed over."""
    with transaction.atomic():
        orders = list(
            Order.objects.select_for_update()
            .filter(number__in=order_numbers, status=Order.Status.PAID)
            .order_by("pk")
        )
        payments: dict[str, Payment] = {}
        captured = (
            Payment.objects.filter(tenant=_tenant(), order_number__in=[o.number for o in orders])
            .exclude(captured_at=None)
            .order_by("-pk")
        )
        for payment in captured:  # newest first: each order's first capture is written last
            payments[payment.order_number] = payment
        lines: dict[int, list[OrderLine]] = {o.pk: [] for o in orders}
        for line in OrderLine.objects.filter(order__in=orders).order_by("order_id", "id"):
            lines[line.order_id].append(line)
        handed: list[FulfilmentOrder] = []
        for order in orders:
            if order.number not in payments:
                raise ValidationError(f"order {order.number} has no captured payment")
            handed.append(_handover(order, payments[order.number], lines[order.pk]))
        supplier_orders_create_many(tenant=current_shop(), orders=handed)


def _fulfil(*, order: Order, payment: Payment, lines: list[OrderLine]) -> None:
    supplier_orders_create_many(tenant=current_shop(), orders=[_handover(order, payment, lines)])


def _handover(order: Order, payment: Payment, lines: list[OrderLine]) -> FulfilmentOrder:
    """What billing needs to make ORDER's supplier orders: its lines with their split."""
    capture = capture_lines(lines)
    return FulfilmentOrder(
        order_number=order.number,
        payment=payment,
        ship_to=ShipTo(
            recipient=order.recipient,
            phone=order.recipient_phone,
            province=order.province,
            city=order.city,
            district=order.district,
            street=order.street,
        ),
        lines=[
            FulfilmentLine(
                line_ref=line.pk,
                sku_id=line.sku_id,
                supplier_id=line.supplier_id,
                title=line.title,
                option_label=line.option_label,
                quantity=line.quantity,
                retail_price_fen=line.retail_price_fen,
                supply_price_fen=line.supply_price_fen,
                shipping_fen=line.shipping_fen,
                fee_fen=split.fee_fen,
                commission_fen=split.commission_fen,
                return_days=line.return_days,
                creator_discount_fen=line.creator_discount_fen,
                platform_discount_fen=line.platform_discount_fen,
            )
            for line, split in zip(lines, capture_split(lines=capture), strict=True)
        ],
    )


def order_lines_release(*, order: Order) -> None:
    """ORDER was not paid: each line's units go back where they came from, the SKU's shared
    stock or, for a campaign's line, the campaign (its kind decides). In the caller's
    transaction, under the order's row lock."""
    for line in order.lines.order_by("sku_id"):
        kind = campaign_kind(line.campaign) if line.campaign else None
        if kind is not None:
            kind.order_released(order=order, line=line)
        else:
            sku_stock_release(sku_id=line.sku_id, quantity=line.quantity)


def order_expire(*, order: Order) -> Order:
    """Close an unpaid order whose deadline passed and give its stock back; idempotent.

    Every open payment is expired first: if one was captured in time the order is paid, not
    expired (billing tells us which, under its own row lock).
    """
    tenant = _tenant()
    payments = Payment.objects.filter(tenant=tenant, order_number=order.number)
    captured = None
    for payment in payments:
        fresh = payment_expire(payment=payment)
        if fresh.status in (Payment.Status.CAPTURED, Payment.Status.PARTIALLY_REFUNDED):
            captured = fresh
    if captured is not None:
        return order_mark_paid(order_number=order.number, payment_id=captured.pk)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != Order.Status.PENDING_PAYMENT:
            return order
        order_lines_release(order=order)
        order.status = Order.Status.EXPIRED
        order.closed_at = timezone.now()
        order.save(update_fields=["status", "closed_at"])
        order_coupons_release(order=order)
    return order


def orders_expire_due(*, now=None) -> int:
    """Expire this shop's unpaid orders past their deadline; returns how many closed."""
    now = now or timezone.now()
    due = Order.objects.filter(status=Order.Status.PENDING_PAYMENT, pay_deadline__lt=now)
    closed = 0
    for order in due.order_by("pay_deadline")[:500]:
        if order_expire(order=order).status == Order.Status.EXPIRED:
            closed += 1
    return closed


SWEEP_CHUNK = 200
_PLAIN_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def schemas_with_orders_due(*, schemas: Sequence[str], now: datetime | None = None) -> set[str]:
    """Which of SCHEMAS hold an unpaid order past its deadline: one query per 200 shops.

    Each shop's check is an index probe (storefront_order_due); the sweep then visits only
    these shops. A chunk that cannot be read (a schema dropped meanwhile) counts as due, so
    the per-shop visit decides and logs.
    """
    now = now or timezone.now()
    # Names go into the SQL text (identifiers cannot be parameters): only plain ones do; any
    # other (none exist: schema_name_for makes [a-z0-9_]) is simply visited.
    found = {schema for schema in schemas if not _PLAIN_SCHEMA.fullmatch(schema)}
    plain = [schema for schema in schemas if schema not in found]
    for start in range(0, len(plain), SWEEP_CHUNK):
        chunk = plain[start : start + SWEEP_CHUNK]
        sql = " UNION ALL ".join(
            f'SELECT %s WHERE EXISTS (SELECT 1 FROM "{schema}".storefront_order '  # noqa: S608
            "WHERE status = %s AND pay_deadline < %s)"
            for schema in chunk
        )
        params: list[str | datetime] = []
        for schema in chunk:
            params += [schema, Order.Status.PENDING_PAYMENT, now]
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
                found.update(row[0] for row in cursor.fetchall())
        except DatabaseError:
            logger.exception("looking for unpaid orders due in %d shops failed", len(chunk))
            found.update(chunk)
    return found
