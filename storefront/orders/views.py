"""Buyer pages of a shop: cart, checkout, order status and lookup. Thin views."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.models import Payment, SandboxTrade
from billing.payments.base import ChannelError
from billing.payments.registry import provider_get, providers
from billing.payments.wechatpay import WeChatPayProvider
from billing.services import PaymentError, sandbox_trade_pay
from core.clients import client_bucket, rate_limited
from core.money import yuan
from core.qr import qr_svg
from storefront.analytics.counting import request_event_count
from storefront.campaigns.claims import CampaignClaim
from storefront.campaigns.registry import campaign_claim_from_ticket
from storefront.models import Order
from storefront.pricing import lines_price
from storefront.sharing.cookies import share_code_of
from storefront.sharing.services import share_links_ensure
from wechat.client import configured as wechat_configured
from wechat.jssdk import jssdk_config

from . import selectors
from .cart import (
    COOKIE,
    cart_add,
    cart_create,
    cart_empty,
    cart_find,
    cart_line_set,
    cart_lines,
    cart_wants,
)
from .forms import CartAddForm, CartQuantityForm, CheckoutForm, CouponChoiceForm, OrderLookupForm
from .pay_methods import (
    PayMethod,
    pay_method_pick,
    pay_methods_for,
    payer_for,
    standin_allowed,
    wechat_page,
)
from .paying import cart_refill, order_cancel, order_payment_check
from .regions import PROVINCES
from .services import OutOfStock, Want, order_payment_start, order_place, order_quote
from .visitor import SESSION_SOURCE_PAGE, order_for_visitor, orders_allow

logger = logging.getLogger(__name__)

SESSION_BUY_NOW = "storefront_buy_now"


def _cart_response(request: HttpRequest, response: HttpResponse, token: str) -> HttpResponse:
    response.set_cookie(
        COOKIE,
        token,
        max_age=60 * 60 * 24 * 30,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


def _back(request: HttpRequest) -> str:
    """The page the buyer came from, if it is on this shop's host (never an open redirect)."""
    referer = request.META.get("HTTP_REFERER", "")
    if url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return "/"


@require_POST
def cart_add_view(request: HttpRequest) -> HttpResponse:
    form = CartAddForm(request.POST)
    back = _back(request)
    if not form.is_valid():
        messages.error(request, _("Choose a variant and a quantity from 1 to 99."))
        return redirect(back)
    item_id, qty = form.cleaned_data["item"], form.cleaned_data["quantity"]
    if form.cleaned_data["buy_now"]:
        # Straight to checkout: the cart is left as it was.
        request.session[SESSION_BUY_NOW] = {"item": item_id, "quantity": qty}
        return redirect(reverse("storefront:checkout") + "?now=1")
    cart = cart_find(request.COOKIES.get(COOKIE)) or cart_create()
    try:
        cart_add(cart=cart, item_id=item_id, quantity=qty)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    messages.success(request, _("Added to your cart."))
    return _cart_response(request, redirect("storefront:cart"), cart.token)


@require_http_methods(["GET", "POST"])
def cart_view(request: HttpRequest) -> HttpResponse:
    cart = cart_find(request.COOKIES.get(COOKIE))
    if request.method == "POST" and cart is not None:
        form = CartQuantityForm(request.POST)
        if form.is_valid():
            cart_line_set(
                cart=cart, line_id=form.cleaned_data["line"], quantity=form.cleaned_data["quantity"]
            )
        else:
            messages.error(request, _("Enter a quantity from 0 to 99."))
        return redirect("storefront:cart")
    lines = cart_lines(cart)
    priced = lines_price(
        items={ln.item_id: ln.item for ln in lines},
        quantities={ln.item_id: ln.quantity for ln in lines},
    )
    return TemplateResponse(
        request,
        "storefront/orders/cart.html",
        {
            "rows": [(ln, priced.line(ln.item_id)) for ln in lines],
            "goods_fen": priced.goods_fen,
        },
    )


def _campaign_ticket(request: HttpRequest) -> str:
    return (request.POST.get("campaign") or request.GET.get("campaign") or "")[:500]


def _checkout_campaign(request: HttpRequest) -> CampaignClaim | None:
    """The claim of the campaign link this checkout came from (?campaign=<ticket>), or None;
    a ticket that is forged, used or not hers raises ValidationError."""
    ticket = _campaign_ticket(request)
    if not ticket:
        return None
    fan = selectors.session_fan(fan_id=request.session.get(selectors.SESSION_FAN))
    return campaign_claim_from_ticket(ticket=ticket, fan=fan)


def _checkout_wants(request: HttpRequest) -> tuple[list[Want], bool]:
    if request.GET.get("now") == "1" or request.POST.get("now") == "1":
        chosen = request.session.get(SESSION_BUY_NOW)
        if chosen:
            return [Want(item_id=chosen["item"], quantity=chosen["quantity"])], True
    return cart_wants(cart_find(request.COOKIES.get(COOKIE))), False


@require_http_methods(["GET", "POST"])
def checkout_view(request: HttpRequest) -> HttpResponse:
    try:
        campaign = _checkout_campaign(request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("storefront:cart")
    if campaign is not None:  # a campaign's checkout buys its item alone
        wants, buy_now = [Want(item_id=campaign.item_id, quantity=campaign.quantity)], True
    else:
        wants, buy_now = _checkout_wants(request)
    if not wants:
        messages.info(request, _("Your cart is empty."))
        return redirect("storefront:cart")
    if request.method == "GET":  # the funnel's checkout step (storefront/analytics)
        request_event_count(
            request,
            event="checkout_start",
            source="share" if share_code_of(request) else "",
        )
    # "Update" (the no-JavaScript way to see the delivery fee and the province's cities) shows
    # the form again with what was typed, without errors and without placing the order.
    updating = request.method == "POST" and "update" in request.POST
    # Her own past addresses (signed in): a card she picks; without JavaScript "use" re-renders
    # the form filled with it.
    known_fan_id = selectors.visitor_fan_id(request)
    saved_addresses = selectors.fan_addresses(fan_id=known_fan_id)
    if updating:
        initial = request.POST.dict()
        # An index into her own list; anything else (forged, stale) changes nothing.
        chosen = {str(i): a for i, a in enumerate(saved_addresses)}.get(
            request.POST.get("use_address", "")
        )
        if chosen:
            initial.update(chosen)
        form = CheckoutForm(initial=initial)
    else:
        form = CheckoutForm(
            request.POST or None, initial=selectors.buyer_initial(fan_id=known_fan_id)
        )
    # The coupon: her wallet's best by default; the radio list or a typed code changes it.
    coupon_form = CouponChoiceForm(request.POST if request.method == "POST" else None)
    fan = selectors.session_fan(fan_id=request.session.get(selectors.SESSION_FAN))
    quote = None
    error = ""
    province = form.chosen("province")
    try:
        quote = order_quote(
            wants=wants,
            province=province if province in PROVINCES else None,
            fan=fan,
            coupon=coupon_form.ask(),
            campaign=campaign,
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    methods = pay_methods_for(request)
    method = pay_method_pick(methods, request.POST.get("provider") if request.POST else None)
    placing = request.method == "POST" and not updating
    if placing and not _providers():
        error = _("This shop cannot take payments right now. Please try later.")
    elif placing and method is None:
        # Forged, or a page from another browser: ask again, place nothing.
        error = _("Choose a way to pay from the list.")
    elif placing and method is not None:
        error = error or _pay_method_problem(request, method)
    if placing and form.is_valid() and not error:
        try:
            order = order_place(
                wants=wants,
                buyer=form.buyer(),
                share_code=share_code_of(request),
                client=client_bucket(request),
                fan=fan,
                coupon=coupon_form.ask(),
                campaign=campaign,
                source_page_id=_source_page(request),
            )
        except OutOfStock as exc:
            error = " ".join(exc.messages)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            orders_allow(request, order.number)
            # A campaign's ticket is spent by its kind (order_attach); the cart stays as it is.
            if campaign is None and buy_now:
                request.session.pop(SESSION_BUY_NOW, None)
            elif campaign is None:
                cart_empty(cart_find(request.COOKIES.get(COOKIE)))
            return _pay_redirect(request, order, method)
    shown_method = method or (methods[0] if methods else None)
    return TemplateResponse(
        request,
        "storefront/orders/checkout.html",
        {
            "form": form,
            "saved_addresses": saved_addresses,
            "coupon_form": coupon_form,
            "signed_in": fan is not None,
            "quote": quote,
            "total_fen": _quote_total(quote),
            "error": error,
            "buy_now": buy_now and campaign is None,
            "campaign": campaign,
            "campaign_ticket": _campaign_ticket(request) if campaign is not None else "",
            "pay_methods": methods,
            "pay_method": shown_method,
            **_wx_address_context(request),
        },
        status=409 if error and request.method == "POST" else 200,
    )


def _quote_total(quote: dict | None) -> int | None:
    if quote is None or quote["shipping_fen"] is None:
        return None
    return quote["goods_fen"] + quote["shipping_fen"]


@require_GET
def checkout_quote_view(request: HttpRequest) -> HttpResponse:
    """The checkout's totals for a province (the page's script asks as soon as one is chosen).

    Same wants (cart or buy-now choice) and the same fee function as order_place; prices come
    from the database, never from the request.
    """
    province = request.GET.get("province", "")
    if province not in PROVINCES:
        return JsonResponse({"error": _("Choose a province.")}, status=400)
    try:
        campaign = _checkout_campaign(request)
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=409)
    if campaign is not None:
        wants = [Want(item_id=campaign.item_id, quantity=campaign.quantity)]
    else:
        wants, _buy_now = _checkout_wants(request)
    if not wants:
        return JsonResponse({"error": _("Your cart is empty.")}, status=404)
    coupon_form = CouponChoiceForm(
        {"coupon": request.GET.get("coupon", ""), "code": request.GET.get("code", "")}
    )
    fan = selectors.session_fan(fan_id=request.session.get(selectors.SESSION_FAN))
    try:
        quote = order_quote(
            wants=wants, province=province, fan=fan, coupon=coupon_form.ask(), campaign=campaign
        )
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=409)
    total = _quote_total(quote) or 0
    plan = quote["plan"]
    return JsonResponse(
        {
            "province": province,
            "list_goods_fen": quote["list_goods_fen"],
            "goods_fen": quote["goods_fen"],
            "shipping_fen": quote["shipping_fen"],
            "total_fen": total,
            # What the coupons take off, before she pays (both funders together, and each).
            "coupon_fen": plan.saving_fen,
            "creator_coupon_fen": plan.creator_fen,
            "platform_coupon_fen": plan.platform_fen,
            "coupon_chosen": plan.chosen,
            "coupon_problem": plan.problem,
            "list_goods": yuan(quote["list_goods_fen"]),
            "goods": yuan(quote["goods_fen"]),
            "coupon": yuan(plan.saving_fen),
            "shipping": yuan(quote["shipping_fen"]),
            "total": yuan(total),
        }
    )


def _source_page(request: HttpRequest) -> int | None:
    value = request.session.get(SESSION_SOURCE_PAGE)
    return value if isinstance(value, int) and 0 < value < 2**31 else None


PROVIDER_PREFERENCE = ("wechatpay", "alipay", "sandbox")


def _providers() -> list[str]:
    """Configured providers, real ones first: the sandbox is the default only when alone."""
    configured = providers()
    return [name for name in PROVIDER_PREFERENCE if name in configured]


def _pay_method_problem(request: HttpRequest, method: PayMethod) -> str:
    """Why METHOD cannot be used by this buyer ("" if it can): asked before anything is
    written, so a checkout that cannot be paid places no order."""
    try:
        provider_get(method.provider).channel_check(method.channel, payer_for(request))
    except (ChannelError, LookupError) as exc:
        logger.info("pay method %s refused at checkout: %s", method.value, exc)
        return _("This way to pay does not work in this browser. Please choose another.")
    return ""


def _wx_address_context(request: HttpRequest) -> dict:
    """Inside WeChat: what the address button needs. The JS-SDK's wx.config for this page
    when the official account is configured; in development without it, the stand-in."""
    if not wechat_page(request):
        return {}
    if wechat_configured():
        try:
            # The same list as every other page's (storefront.wxshare configures too).
            config = jssdk_config(request.build_absolute_uri())
        except Exception as exc:  # no ticket now: the buyer types her address instead
            logger.warning("wx.config for the checkout failed: %s", exc)
        else:
            return {"wx_config": config}
    if standin_allowed():
        return {"wx_standin": True}
    return {}


def _pay_redirect(
    request: HttpRequest, order: Order, method: PayMethod | None = None
) -> HttpResponse:
    if not selectors.order_progress(order=order).payable:
        # Paid meanwhile, being confirmed, or closed: the order page says which (an error
        # "cannot be paid" above a "thank you" headline only confused buyers).
        return redirect("storefront:order_detail", number=order.number)
    if not _providers():
        # No payment provider configured (check --deploy warns, billing.W001): the order
        # keeps its stock until its deadline; the buyer is told, never shown a 500.
        messages.error(request, _("This shop cannot take payments right now. Please try later."))
        return redirect("storefront:order_detail", number=order.number)
    if method is None:
        method = pay_method_pick(pay_methods_for(request), request.POST.get("provider", ""))
    if method is None:
        messages.error(request, _("Choose a way to pay from the list."))
        return redirect("storefront:order_detail", number=order.number)
    return_url = request.build_absolute_uri(
        reverse("storefront:order_detail", args=[order.number]) + "?paying=1"
    )
    try:
        payment = order_payment_start(
            order=order,
            provider=method.provider,
            return_url=return_url,
            channel=method.channel,
            payer=payer_for(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("storefront:order_detail", number=order.number)
    except Exception:  # the provider is down: the order stays, with a "pay" button
        messages.error(request, _("The payment service did not answer. Please try again."))
        return redirect("storefront:order_detail", number=order.number)
    if payment.channel == "jsapi":
        # Inside WeChat: the pay page hands WeChat's bridge freshly signed parameters.
        return redirect("storefront:order_wxpay", number=order.number)
    if payment.checkout_kind == "qrcode":
        # WeChat Pay Native: the buyer scans the code with her phone's WeChat.
        return redirect("storefront:order_scan", number=order.number)
    return redirect(payment.checkout_url)


def _standin_params(payment: Payment) -> dict[str, str]:
    """What the development stand-in is handed: the shape of getBrandWCPayRequest's object,
    signed by nobody (the sandbox is paid by its own endpoint, never by these)."""
    return {
        "appId": "sandbox",
        "timeStamp": str(int(timezone.now().timestamp())),
        "nonceStr": payment.out_trade_no,
        "package": f"prepay_id={payment.out_trade_no}",
        "signType": "RSA",
        "paySign": "",
    }


@require_GET
def order_wxpay_view(request: HttpRequest, number: str) -> HttpResponse:
    """Inside WeChat: the page that opens WeChat's cashier (getBrandWCPayRequest) for the
    order's JSAPI payment, with parameters signed for this view, and says what became of it."""
    order = order_for_visitor(request, number)
    payment = selectors.payment_open_for(order=order, channel="jsapi")
    if payment is None or not selectors.order_progress(order=order).payable:
        return redirect("storefront:order_detail", number=number)
    standin = payment.provider == "sandbox"
    if standin and not standin_allowed():
        return redirect("storefront:order_detail", number=number)
    backend = provider_get(payment.provider)
    if standin:
        params = _standin_params(payment)
    elif isinstance(backend, WeChatPayProvider):
        params = backend.jsapi_pay_params(payment.checkout_url)
    else:  # no other provider pays through WeChat's bridge
        return redirect("storefront:order_detail", number=number)
    response = TemplateResponse(
        request,
        "storefront/orders/order_wxpay.html",
        {
            "order": order,
            "params": params,
            "standin": standin,
            "done_url": reverse("storefront:order_detail", args=[number]) + "?paying=1",
        },
    )
    # Signed for this view: never from a cache, never the same twice.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def order_wxpay_standin_view(request: HttpRequest, number: str) -> HttpResponse:
    """Development only: the stand-in of WeChat's cashier pays the order's sandbox payment,
    as the sandbox's own pay page does (that page is on the platform host, out of reach of a
    same-origin request from the shop)."""
    if not standin_allowed():
        raise Http404("no WeChat Pay stand-in here")
    order = order_for_visitor(request, number)
    payment = selectors.payment_open_for(order=order, provider="sandbox", channel="jsapi")
    trade = (
        SandboxTrade.objects.filter(out_trade_no=payment.out_trade_no).first() if payment else None
    )
    if trade is None:
        return JsonResponse({"err_msg": "get_brand_wcpay_request:fail"}, status=404)
    try:
        sandbox_trade_pay(trade=trade)
    except PaymentError:
        return JsonResponse({"err_msg": "get_brand_wcpay_request:fail"}, status=409)
    return JsonResponse({"err_msg": "get_brand_wcpay_request:ok"})


@require_GET
def order_scan_view(request: HttpRequest, number: str) -> HttpResponse:
    """Scan-to-pay: the provider's code as a QR image; the page refreshes until paid."""
    order = order_for_visitor(request, number)
    order_payment_check(order=order)  # the page refreshes while she scans: paid yet?
    payment = selectors.payment_open_for(order=order)
    if not selectors.order_progress(order=order).payable or payment is None:
        return redirect("storefront:order_detail", number=number)
    return TemplateResponse(
        request,
        "storefront/orders/order_scan.html",
        {"order": order, "qr_svg": qr_svg(payment.checkout_url)},
    )


@require_POST
def order_pay_view(request: HttpRequest, number: str) -> HttpResponse:
    return _pay_redirect(request, order_for_visitor(request, number))


PAYING_CHECKS = 6  # the order page checks a payment this many times, 3 s apart, then stops


@require_GET
def order_detail_view(request: HttpRequest, number: str) -> HttpResponse:
    order = order_for_visitor(request, number)
    # Back from the pay page (?paying=N): ask the provider rather than wait for its notification,
    # so the page can say "paid" or "not paid" at once. When that is not known yet the page
    # checks again a few times (N counts them), then says what it knows.
    paying = request.GET.get("paying", "")
    tries = int(paying) if paying.isdigit() and len(paying) == 1 else 0
    known_unpaid = order_payment_check(order=order)
    context = selectors.order_page_context(order=order)
    context["paying"] = tries > 0
    context["paying_next"] = tries + 1 if 0 < tries < PAYING_CHECKS and not known_unpaid else None
    if order.status == Order.Status.PAID:
        context["share_links"] = [
            (link, request.build_absolute_uri(reverse("storefront:share", args=[link.code])))
            for link in share_links_ensure(order=order)
        ]
    return TemplateResponse(request, "storefront/orders/order_detail.html", context)


@require_POST
def order_cancel_view(request: HttpRequest, number: str) -> HttpResponse:
    """The buyer cancels her unpaid order: stock goes back and the goods back into her cart,
    so she can change the order and check out again."""
    order, cancelled = order_cancel(order=order_for_visitor(request, number))
    if not cancelled:  # paid meanwhile, or closed already: the order page says which
        return redirect("storefront:order_detail", number=number)
    cart = cart_find(request.COOKIES.get(COOKIE)) or cart_create()
    cart_refill(cart=cart, order=order)
    messages.success(request, _("Order cancelled. Its goods are back in your cart."))
    return _cart_response(request, redirect("storefront:cart"), cart.token)


@require_http_methods(["GET", "POST"])
def order_lookup_view(request: HttpRequest) -> HttpResponse:
    form = OrderLookupForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST":
        # Every try counts, atomically, per shop and client (core.clients): behind the proxy
        # each buyer has her own count, and 20 guesses at once cannot pass a limit of 10.
        if rate_limited(name="order_lookup", value=client_bucket(request)):
            error = _("Too many attempts. Please try again in an hour.")
            status = 429
        elif form.is_valid():
            order = selectors.order_lookup(
                number=form.cleaned_data["number"], phone=form.cleaned_data["phone"]
            )
            if order is not None:
                orders_allow(request, order.number)
                return redirect("storefront:order_detail", number=order.number)
            error = _("No order matches this number and mobile number.")
            status = 404
    return TemplateResponse(
        request,
        "storefront/orders/order_lookup.html",
        {"form": form, "error": error},
        status=status,
    )
