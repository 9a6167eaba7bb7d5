"""Reads of a shop's orders for the buyer's pages and the creator's admin (in its context)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from core.shop import current_shop, current_shop_id
from core.text import text_problem
from storefront.models import Fan, Order, Review

from .progress import order_progress, order_shipments
from .regions import PROVINCES, cities_of
from .wx_identity import session_openid

OPENID_MAX = 128  # WeChat's bound, and Fan.wechat_openid's length


def order_get(*, number: str) -> Order | None:
    return Order.objects.select_related("fan").filter(number=number).first()


def order_lookup(*, number: str, phone: str) -> Order | None:
    """The order with NUMBER if PHONE is its contact or recipient mobile; else None."""
    return (
        Order.objects.filter(number=number)
        .filter(Q(contact_mobile=phone) | Q(recipient_phone=phone))
        .first()
    )


def order_contact(order_number: str) -> tuple[str, str] | None:
    """(e-mail, mobile) to tell the buyer of ORDER_NUMBER about her order; None if unknown."""
    row = Order.objects.filter(number=order_number).values_list("contact_email", "contact_mobile")
    return row.first()


def order_page_context(*, order: Order) -> dict:
    from billing.models import Payment

    payments = list(
        Payment.objects.filter(tenant_id=current_shop_id(), order_number=order.number).order_by(
            "created_at"
        )
    )
    fulfilment = order_shipments(order)
    aftersale = _aftersale_for(order)
    progress = order_progress(
        order=order,
        payments=payments,
        shipments=fulfilment,
        return_cases=aftersale["return_cases"],
    )
    lines = list(order.lines.all())
    coupon_fen = sum(line.creator_discount_fen + line.platform_discount_fen for line in lines)
    return {
        "order": order,
        "lines": lines,
        # The order's goods are stored after coupons; the page shows them before, and the saving.
        "coupon_fen": coupon_fen,
        "goods_list_fen": order.goods_fen + coupon_fen,
        "payments": payments,
        "fulfilment": fulfilment,
        "progress": progress,
        "timeline": order_timeline(
            order=order, progress=progress, return_cases=aftersale["return_cases"]
        ),
        **aftersale,
    }


def _aftersale_for(order: Order) -> dict:
    """Returns (what can still go back, cases so far) and the invoice, for the order page."""
    from billing.documents.selectors import invoice_for_order
    from billing.documents.services import document_link
    from billing.fulfilment.selectors import return_cases_for_order, return_options_for_order

    tenant = current_shop()
    invoice = invoice_for_order(tenant=tenant, order_number=order.number)
    options = return_options_for_order(tenant=tenant, order_number=order.number)
    delivered = {o.line.line_ref for o in options if o.line.supplier_order.status == "delivered"}
    reviewed = set(Review.objects.filter(line__order=order).values_list("line_id", flat=True))
    return {
        "reviewable_lines": [
            line for line in order.lines.all() if line.pk in delivered and line.pk not in reviewed
        ],
        "return_options": [o for o in options if o.returnable_quantity],
        "return_cases": list(return_cases_for_order(tenant=tenant, order_number=order.number)),
        "invoice": invoice,
        "invoice_url": document_link(document=invoice) if invoice and invoice.file else "",
    }


def payment_open_for(*, order: Order, provider: str = "", channel: str | None = None):
    """The order's payment the buyer can still complete (with PROVIDER and through CHANNEL,
    if given), newest first; None if there is none."""
    from billing.models import Payment

    payments = Payment.objects.filter(
        tenant_id=current_shop_id(),
        order_number=order.number,
        status=Payment.Status.CREATED,
    )
    if provider:
        payments = payments.filter(provider=provider)
    if channel is not None:
        payments = payments.filter(channel=channel)
    return payments.order_by("-created_at").first()


def visitor_fan_id(request) -> int | None:
    """The fan this browser session is known as in this shop: signed in, or (inside WeChat)
    her session's openid linked to a fan of this shop. Both live in the shop's own session and
    schema, so another shop never finds her here."""
    fan_id = request.session.get(SESSION_FAN)
    if isinstance(fan_id, int) and not isinstance(fan_id, bool):
        return fan_id
    openid = session_openid(request)
    # Only what WeChat could have issued reaches the query (a NUL is a database error).
    if not openid or len(openid) > OPENID_MAX or text_problem(openid):
        return None
    return (
        Fan.objects.filter(wechat_openid=openid, erased_at__isnull=True)
        .values_list("pk", flat=True)
        .first()
    )


def buyer_initial(*, fan_id: int | None) -> dict:
    """Checkout form defaults for a recognised buyer (visitor_fan_id): her last order's
    address, so that a returning fan pays with one tap."""
    if not fan_id:
        return {}
    last = Order.objects.filter(fan_id=fan_id).order_by("-created_at").first()
    if last is None:
        return {}
    # The contact field is for a second way to reach her: empty when it was the same mobile.
    contact = last.contact_email or (
        last.contact_mobile if last.contact_mobile != last.recipient_phone else ""
    )
    return {
        "contact": contact,
        "recipient": last.recipient,
        "recipient_phone": last.recipient_phone,
        "province": last.province,
        "city": last.city,
        "district": last.district,
        "street": last.street,
    }


def orders_for_admin(*, status: str = "", query: str = "") -> QuerySet[Order]:
    orders = Order.objects.select_related("fan").order_by("-created_at", "-id")
    if status:
        orders = orders.filter(status=status)
    if query:
        orders = orders.filter(
            Q(number__icontains=query)
            | Q(contact_mobile__contains=query)
            | Q(contact_email__icontains=query)
            | Q(recipient__icontains=query)
        )
    return orders


# The signed-in fan's id in the session. storefront.fans signs her in (fans.account.SESSION_FAN,
# the same key; tests/test_coupons_checkout.py checks they agree): orders cannot import fans,
# which builds on orders.
SESSION_FAN = "storefront_fan"


def session_fan(*, fan_id: object) -> Fan | None:
    """The signed-in fan with FAN_ID (the session's value), or None."""
    if isinstance(fan_id, bool) or not isinstance(fan_id, int):
        return None
    return Fan.objects.filter(pk=fan_id).first()


@dataclass(frozen=True)
class DeliveryLine:
    """What the product page says about delivery of one unit: 包邮 or the fee by province, the
    free-delivery threshold, and where it ships from. The page is shared by every visitor (page
    cache), so it names the fee per province rather than guessing hers; checkout charges the
    exact fee through shipping.delivery_fees."""

    free_everywhere: bool
    min_fen: int | None  # the cheapest fee where it delivers (None: delivers nowhere)
    max_fen: int | None
    min_paid_fen: int | None  # the cheapest fee that is not free
    free_over_fen: int | None
    by_province: tuple[tuple[str, int], ...]  # (province, fee), cheapest first
    other_fen: int | None  # provinces no rule names; None: not delivered there
    ships_from: str  # "浙江 杭州" from the supplier's address, or ""


def listing_delivery_line(*, listing) -> DeliveryLine:
    """The product page's delivery line for LISTING, kept in the shop data cache (a supplier's
    new shipping rule shows within seconds; checkout prices delivery afresh). One query."""
    from core.shop_cache import cached

    return cached(f"delivery:{listing.pk}", lambda: _delivery_line(listing))


def _delivery_line(listing) -> DeliveryLine:
    from catalog.models import ShippingRule, ShippingTemplate

    product = listing.product
    rules = list(
        ShippingRule.objects.filter(template_id=product.shipping_template_id)
        .select_related("template")
        .order_by("id")
    )
    template = (
        rules[0].template
        if rules
        else ShippingTemplate.objects.get(pk=product.shipping_template_id)
    )
    extra_kg = max(0, -(-product.weight_g // 1000) - 1)  # as catalog.selectors.shipping_fee_fen
    fees: dict[str, int] = {}
    for rule in rules:
        for region in rule.regions:
            fees.setdefault(region, rule.first_kg_fee_fen + extra_kg * rule.extra_kg_fee_fen)
    other = template.default_fee_fen
    if template.free_over_fen == 0:  # free from the first fen: free wherever it delivers
        fees = dict.fromkeys(fees, 0)
        other = 0 if other is not None else None
    everywhere = [*fees.values(), *([other] if other is not None else [])]
    paid = [fee for fee in everywhere if fee]
    order = {name: i for i, name in enumerate(PROVINCES)}
    return DeliveryLine(
        free_everywhere=bool(everywhere) and not paid and other is not None,
        min_fen=min(everywhere) if everywhere else None,
        max_fen=max(everywhere) if everywhere else None,
        min_paid_fen=min(paid) if paid else None,
        free_over_fen=template.free_over_fen or None,
        by_province=tuple(
            sorted(fees.items(), key=lambda kv: (kv[1], order.get(kv[0], len(order))))
        ),
        other_fen=other,
        ships_from=ships_from(product.supplier.address),
    )


def ships_from(address: str) -> str:
    """'浙江 杭州' from '浙江省杭州市余杭区…': province and city only, never the street."""
    address = (address or "").strip()
    for province in PROVINCES:
        if not address.startswith(province):
            continue
        rest = re.sub(
            r"^(省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区)",
            "",
            address[len(province) :],
        )
        for city in cities_of(province):
            short = re.sub(r"(市|地区|自治州|盟)$", "", city)
            if short and short != province and rest.startswith(short):
                return f"{province} {short}"
        return province
    return ""


@dataclass(frozen=True)
class TimelineStep:
    label: str
    at: object = None  # a datetime when the step happened, else None
    done: bool = False
    current: bool = False


def order_timeline(*, order: Order, progress, return_cases: list) -> list[TimelineStep]:
    """The order page's steps: 下单 → 付款 → 发货 → 签收 → 完成, or the return path
    (下单 → 付款 → 申请退货 → 商家收货 → 退款) once a return is asked for, or 下单 → 已关闭.
    Every step is derived from what progress.py already read; nothing is stored."""
    from django.utils.translation import gettext as _

    from billing.fulfilment.models import ReturnCase

    from .progress import OrderState

    state = progress.state
    placed = TimelineStep(_("Placed"), order.created_at, done=True)
    if state in (OrderState.EXPIRED, OrderState.CANCELLED):
        return [placed, TimelineStep(_("Closed"), None, done=True, current=True)]
    paid_at = getattr(order, "paid_at", None)
    paid = state not in (OrderState.PENDING_PAYMENT, OrderState.CONFIRMING)
    live_cases = [c for c in return_cases if c.status != ReturnCase.Status.CANCELLED]
    if live_cases:
        case = live_cases[-1]
        received = case.status in (ReturnCase.Status.RECEIVED, ReturnCase.Status.REFUNDED)
        refunded = case.status == ReturnCase.Status.REFUNDED
        steps = [
            placed,
            TimelineStep(_("Paid"), paid_at, done=True),
            TimelineStep(_("Return requested"), case.requested_at, done=True),
            TimelineStep(_("Return received"), case.received_at, done=received),
            TimelineStep(_("Refunded"), case.refunded_at, done=refunded),
        ]
        if case.status == ReturnCase.Status.REJECTED:
            steps[3:] = [TimelineStep(_("Return declined"), None, done=True)]
    else:
        shipments = [s for s in progress.shipments if s.shipped_at]
        shipped_at = min((s.shipped_at for s in shipments), default=None)
        delivered = [s.delivered_at for s in progress.shipments if s.delivered_at]
        closes = [s.returns_close_at for s in progress.shipments if s.returns_close_at]
        from django.utils import timezone

        finished = state == OrderState.DELIVERED and bool(closes) and max(closes) <= timezone.now()
        steps = [
            placed,
            TimelineStep(_("Paid"), paid_at, done=paid),
            TimelineStep(_("Shipped"), shipped_at, done=bool(shipped_at)),
            TimelineStep(
                _("Delivered"),
                max(delivered) if delivered else None,
                done=state in (OrderState.DELIVERED, OrderState.REFUNDED_PARTLY)
                and bool(delivered),
            ),
            TimelineStep(_("Completed"), max(closes) if finished else None, done=finished),
        ]
    last = max(i for i, step in enumerate(steps) if step.done)
    return [TimelineStep(s.label, s.at, s.done, current=(i == last)) for i, s in enumerate(steps)]


ADDRESS_FIELDS = ("recipient", "recipient_phone", "province", "city", "district", "street")


def fan_addresses(*, fan_id: int | None, limit: int = 5) -> list[dict]:
    """A signed-in fan's addresses from her own orders in this shop, newest first, each once
    (checkout's address cards). Nothing for anyone else: the caller passes the session's fan."""
    if not fan_id:
        return []
    seen: set[tuple] = set()
    found: list[dict] = []
    rows = (
        Order.objects.filter(fan_id=fan_id)
        .exclude(street="")
        .order_by("-created_at")
        .values(*ADDRESS_FIELDS)[:50]
    )
    for row in rows:
        key = tuple(row[f] for f in ADDRESS_FIELDS)
        if key in seen:
            continue
        seen.add(key)
        found.append(dict(row))
        if len(found) >= limit:
            break
    return found
