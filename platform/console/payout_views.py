"""Staff console: payout batches. Thin views over billing.payouts services and selectors.

Approving is two steps: the approve page shows what will be paid and asks for an explicit
confirmation; the POST records the approval, and the last approval needed starts execution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.payouts import selectors, services
from billing.payouts.models import BeneficiaryKind, Payout, PayoutBatch
from core.money import yuan_parse

staff: Callable[[Callable[..., Any]], Callable[..., Any]] = staff_member_required(login_url="login")
PAGE_SIZE = 25


def _batch(pk: int) -> PayoutBatch:
    try:
        return selectors.payout_batch_get(pk=pk)
    except PayoutBatch.DoesNotExist as exc:
        raise Http404 from exc


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@staff
def batch_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    batches = selectors.payout_batches(
        status=status if status in PayoutBatch.Status.values else "",
        kind=kind if kind in BeneficiaryKind.values else "",
    )
    page = Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "console/payouts/list.html",
        {
            "page": page,
            "status": status,
            "kind": kind,
            "statuses": PayoutBatch.Status,
            "kinds": BeneficiaryKind,
            "minimum_fen": services.minimum_fen_default(),
            "dual_fen": services.dual_approval_fen(),
        },
    )


@staff
@require_POST
def batch_create(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    try:
        # The form asks in yuan, as staff think; the services work in fen (no float on money).
        # Strictly parsed: "1e99" or "-5" is an error to correct, never a batch of everything.
        minimum_fen = yuan_parse(request.POST.get("minimum_yuan") or "0")
    except ValueError:
        messages.error(request, _("Enter an amount in yuan, e.g. 89.90."))
        return redirect("console:payout-list")
    try:
        batch = services.payout_batch_create(
            kind=kind, minimum_fen=minimum_fen, created_by=request.user
        )
    except ValidationError as exc:
        _errors(request, exc)
        return redirect("console:payout-list")
    messages.success(
        request,
        _("Batch %(pk)s made: %(n)s payouts, waiting for approval.")
        % {"pk": batch.pk, "n": batch.payout_count},
    )
    return redirect("console:payout-batch", pk=batch.pk)


@staff
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(pk)
    page = Paginator(selectors.payout_batch_payouts(batch=batch), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    approvals = list(batch.approvals.all())
    return render(
        request,
        "console/payouts/detail.html",
        {
            "batch": batch,
            "page": page,
            "approvals": approvals,
            "approved_by_me": any(a.user_id == request.user.pk for a in approvals),
            # Labelled here: the template shows 已支付 3, never "paid: 3".
            "counts": [
                (dict(Payout.Status.choices).get(status, status), n)
                for status, n in selectors.payout_batch_status_counts(batch=batch).items()
            ],
            "events": selectors.payout_batch_events(batch=batch)[:100],
        },
    )


@staff
def batch_approve(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(pk)
    if request.method == "POST":
        try:
            result = services.payout_batch_approve(
                batch=batch, user=request.user, confirmed=request.POST.get("confirm") == "yes"
            )
        except ValidationError as exc:
            _errors(request, exc)
            return redirect("console:payout-batch", pk=pk)
        if result.executing:
            messages.success(request, _("Approved: the payouts are being sent."))
        else:
            messages.success(
                request,
                _(
                    "Approval %(n)s of %(of)s recorded. A different staff member must approve "
                    "before anything is paid."
                )
                % {"n": result.approvals, "of": batch.approvals_required},
            )
        return redirect("console:payout-batch", pk=pk)
    approvals = list(batch.approvals.all())
    return render(
        request,
        "console/payouts/approve.html",
        {
            "batch": batch,
            "approvals": approvals,
            "approved_by_me": any(a.user_id == request.user.pk for a in approvals),
            "final": len(approvals) + 1 >= batch.approvals_required,
        },
    )


@staff
@require_POST
def batch_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(pk)
    try:
        services.payout_batch_cancel(batch=batch, user=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Batch cancelled: nothing was paid."))
    return redirect("console:payout-batch", pk=pk)
