"""The creator's fans (粉丝) in her shop's Wagtail admin: the list with segments, search, tags
and pages, one fan's page, bulk tags, the audited export and fans' data requests.

Every member of the shop's team may see the list (editors too, to know their readers), but a
fan's mobile and e-mail are whole only for roles with storefront.view_orders (owner, customer
service): everyone else sees them masked and can search only by name or by the masked form.
Exporting and the data requests are for those roles only.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.forms import SafeForm, form_errors_text
from storefront.team.access import perm_required
from storefront.team.roles import MANAGE_SHOP, VIEW_ORDERS

from .models import FanDataRequest, FanExport
from .selectors import (
    SEGMENTS,
    campaign_segment_available,
    data_requests_for_admin,
    email_masked,
    exports_recent,
    fan_get,
    fan_profile,
    fans_for_admin,
    mobile_masked,
    tags_all,
)
from .services import (
    COUPON_SEND_MAX,
    fan_note_add,
    fan_request_complete,
    fans_export,
    fans_tag,
)

PAGE_SIZE = 30
# Wagtail's admin already requires this of every admin URL; said again so the menu item and
# the views name what they need.
ADMIN_ACCESS = "wagtailadmin.access_admin"


class FilterForm(SafeForm):
    q = forms.CharField(required=False, max_length=60)
    segment = forms.ChoiceField(required=False, choices=[("", ""), *SEGMENTS.items()])
    tag = forms.CharField(required=False, max_length=20)


class ExportForm(SafeForm):
    purpose = forms.CharField(
        label=gettext_lazy("Purpose of this export"),
        min_length=4,
        max_length=200,
        help_text=gettext_lazy(
            "Required by law: say what the list is for (e.g. sending the parcels of a "
            "giveaway). It is recorded with your name."
        ),
    )
    file_format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=FanExport.Format.choices,
        initial=FanExport.Format.XLSX,
        widget=forms.RadioSelect,
    )


class TagForm(SafeForm):
    tag = forms.CharField(label=gettext_lazy("Tag"), max_length=20)
    remove = forms.BooleanField(required=False)


class CouponSendForm(SafeForm):
    coupon = forms.IntegerField(label=gettext_lazy("Coupon"), min_value=1)


class NoteForm(SafeForm):
    text = forms.CharField(label=gettext_lazy("Note"), max_length=500, widget=forms.Textarea)


def _filters(request: HttpRequest | None, data: QueryDict | None = None) -> dict[str, str]:
    form = FilterForm(data if data is not None else request.GET if request else None)
    if not form.is_valid():  # a forged segment or an overlong search: shown unfiltered
        return {"q": "", "segment": "", "tag": ""}
    return {k: form.cleaned_data[k].strip() for k in ("q", "segment", "tag")}


def _contacts(request: HttpRequest) -> bool:
    return request.user.has_perm(VIEW_ORDERS)


def _fans(request: HttpRequest, filters: dict[str, str]):
    return fans_for_admin(
        segment=filters["segment"],
        query=filters["q"],
        tag=filters["tag"],
        contacts=_contacts(request),
    )


def _contact_rows(fans: list, *, contacts: bool) -> list[dict]:
    return [
        {
            "fan": fan,
            "mobile": fan.mobile if contacts else mobile_masked(fan.mobile),
            "email": fan.email if contacts else email_masked(fan.email),
        }
        for fan in fans
    ]


@require_GET
@perm_required(ADMIN_ACCESS)
def fans_index(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = Paginator(_fans(request, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    contacts = _contacts(request)
    return TemplateResponse(
        request,
        "storefront/fans/admin/fans_index.html",
        {
            "page_title": _("Fans"),
            "header_icon": "group",
            "page": page,
            "rows": _contact_rows(list(page.object_list), contacts=contacts),
            "filters": filters,
            "filter_query": urlencode({k: v for k, v in filters.items() if v}),
            "segments": list(SEGMENTS.items()),
            "campaign_available": campaign_segment_available(),
            "tags": tags_all(),
            "contacts": contacts,
            "can_export": contacts,
            "coupons": _coupons_to_send(request),
        },
    )


def _coupons_to_send(request: HttpRequest) -> list | None:
    """Coupons the owner may send to a segment now (public, live, not all claimed); None for
    roles that may not (coupons are the creator's money: storefront.manage_shop)."""
    if not request.user.has_perm(MANAGE_SHOP):
        return None
    from storefront.coupons.selectors import coupons_claimable

    return list(coupons_claimable()[:50])


def _back(data) -> str:
    """The list as it was filtered (BACK: its query string), rebuilt from the known filters
    only: a forged value cannot send the browser elsewhere or break the header."""
    filters = _filters(None, QueryDict(data.get("back", "")[:300]))
    query = urlencode({k: v for k, v in filters.items() if v})
    return reverse("storefront_fans") + ("?" + query if query else "")


@require_POST
@perm_required(MANAGE_SHOP)
def fans_coupon_send(request: HttpRequest) -> HttpResponse:
    """Send a coupon to every fan of the list as filtered (a segment, a tag, a search), in a
    Celery task after this request's transaction: the fans are chosen now."""
    from storefront.coupons.selectors import coupons_claimable

    from .tasks import fans_coupon_send_task

    target = _back(request.POST)
    form = CouponSendForm(request.POST)
    coupon = (
        coupons_claimable().filter(pk=form.cleaned_data["coupon"]).first()
        if form.is_valid()
        else None
    )
    if coupon is None:
        messages.error(request, _("Choose a coupon that fans can claim now."))
        return redirect(target)
    chosen = FilterForm(request.POST)
    if not chosen.is_valid():  # never "everyone" because a filter was forged
        messages.error(request, form_errors_text(chosen))
        return redirect(target)
    filters = {k: chosen.cleaned_data[k].strip() for k in ("q", "segment", "tag")}
    ids = list(_fans(request, filters).values_list("pk", flat=True)[: COUPON_SEND_MAX + 1])
    if not ids:
        messages.error(request, _("No fans match: nobody to send the coupon to."))
        return redirect(target)
    if len(ids) > COUPON_SEND_MAX:
        messages.error(
            request,
            _("At most %(n)d fans at a time: choose a segment, a tag or a search first.")
            % {"n": COUPON_SEND_MAX},
        )
        return redirect(target)
    transaction.on_commit(lambda: fans_coupon_send_task.delay(coupon_id=coupon.pk, fan_ids=ids))
    messages.success(
        request,
        _("The coupon “%(coupon)s” is on its way to %(n)d fans.")
        % {"coupon": coupon.name, "n": len(ids)},
    )
    return redirect(target)


@require_POST
@perm_required(ADMIN_ACCESS)
def fans_bulk_tag(request: HttpRequest) -> HttpResponse:
    form = TagForm(request.POST)
    target = _back(request.POST)
    ids = [int(v) for v in request.POST.getlist("fan") if v.isdigit() and len(v) < 10]
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect(target)
    if not ids:
        messages.error(request, _("Choose the fans to tag first."))
        return redirect(target)
    try:
        n = fans_tag(fan_ids=ids, name=form.cleaned_data["tag"], remove=form.cleaned_data["remove"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(target)
    if form.cleaned_data["remove"]:
        messages.success(request, _("Tag removed from %(n)d fans.") % {"n": n})
    else:
        messages.success(request, _("Tag added to %(n)d fans.") % {"n": n})
    return redirect(target)


@require_http_methods(["GET", "POST"])
@perm_required(VIEW_ORDERS)
def fans_export_view(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    filter_form = FilterForm(source)
    filters = (
        {k: filter_form.cleaned_data[k].strip() for k in ("q", "segment", "tag")}
        if filter_form.is_valid()
        else {"q": "", "segment": "", "tag": ""}
    )
    form = ExportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                made = fans_export(
                    fans=_fans(request, filters),
                    user=request.user,
                    purpose=form.cleaned_data["purpose"],
                    file_format=form.cleaned_data["file_format"],
                    contacts=True,
                    segment=filters["segment"],
                    query=filters["q"],
                    tag=filters["tag"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                response = HttpResponse(made.content, content_type=made.content_type)
                response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
                response["Cache-Control"] = "no-store"
                return response
        status = 400
    return TemplateResponse(
        request,
        "storefront/fans/admin/fans_export.html",
        {
            "page_title": _("Export fans"),
            "header_icon": "download",
            "form": form,
            "filters": filters,
            "count": _fans(request, filters).count(),
            "segment_label": SEGMENTS.get(filters["segment"], ""),
            "exports": exports_recent(),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@perm_required(ADMIN_ACCESS)
def fan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    fan = fan_get(pk=pk)
    if fan is None:
        raise Http404
    note_form = NoteForm()
    tag_form = TagForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "note":
            note_form = NoteForm(request.POST)
            if note_form.is_valid():
                try:
                    fan_note_add(fan=fan, author=request.user, text=note_form.cleaned_data["text"])
                except ValidationError as exc:
                    note_form.add_error("text", exc)
                else:
                    messages.success(request, _("Note added."))
                    return redirect("storefront_fan", pk=fan.pk)
        elif action == "tag":
            tag_form = TagForm(request.POST)
            if tag_form.is_valid():
                try:
                    fans_tag(
                        fan_ids=[fan.pk],
                        name=tag_form.cleaned_data["tag"],
                        remove=tag_form.cleaned_data["remove"],
                    )
                except ValidationError as exc:
                    tag_form.add_error("tag", exc)
                else:
                    return redirect("storefront_fan", pk=fan.pk)
        status = 400
    contacts = _contacts(request)
    return TemplateResponse(
        request,
        "storefront/fans/admin/fan_detail.html",
        {
            "page_title": _("Fan %(name)s")
            % {"name": fan.name or (mobile_masked(fan.mobile) or email_masked(fan.email))},
            "header_icon": "user",
            "profile": fan_profile(fan=fan),
            "fan": fan,
            "mobile": fan.mobile if contacts else mobile_masked(fan.mobile),
            "email": fan.email if contacts else email_masked(fan.email),
            "contacts": contacts,
            "notes": list(fan.notes.select_related("author")),
            "note_form": note_form,
            "tag_form": tag_form,
            "all_tags": tags_all(),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@perm_required(VIEW_ORDERS)
def data_requests_index(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        raw = request.POST.get("request", "")
        if not raw.isdigit() or len(raw) > 10:
            messages.error(request, _("No such request."))
        elif fan_request_complete(request_id=int(raw)):
            messages.success(request, _("Personal information deleted."))
        else:
            messages.error(request, _("This request is no longer pending."))
        return redirect("storefront_fan_requests")
    state = request.GET.get("state", "")
    page = Paginator(data_requests_for_admin(state=state), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return TemplateResponse(
        request,
        "storefront/fans/admin/data_requests.html",
        {
            "page_title": _("Fans' data requests"),
            "header_icon": "warning",
            "page": page,
            "rows": [
                (
                    req,
                    mobile_masked(req.fan.mobile) or email_masked(req.fan.email) or _("(deleted)"),
                )
                for req in page.object_list
            ],
            "state": state if state in FanDataRequest.State.values else "",
            "states": FanDataRequest.State.choices,
            "pending": FanDataRequest.State.PENDING,
            "delete_kind": FanDataRequest.Kind.DELETE,
        },
    )
