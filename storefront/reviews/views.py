"""A buyer reviews what she received, from her order page. Thin view: the rules are in services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import form_errors_text
from storefront.orders.visitor import order_for_visitor

from .forms import ReviewForm
from .services import review_create


@require_POST
def review_create_view(request: HttpRequest, number: str) -> HttpResponse:
    order = order_for_visitor(request, number)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("storefront:order_detail", number=number)
    try:
        review_create(
            order=order,
            line_id=form.cleaned_data["line"],
            rating=form.cleaned_data["rating"],
            text=form.cleaned_data["text"],
            photos=request.FILES.getlist("photos"),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Thank you for your review!"))
    return redirect("storefront:order_detail", number=number)
