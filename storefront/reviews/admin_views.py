"""The creator's reviews in her shop's Wagtail admin: hiding one needs storefront.manage_reviews."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from storefront.models import Review
from storefront.team.access import perm_required
from storefront.team.roles import MANAGE_REVIEWS

from .selectors import reviews_for_admin
from .services import review_set_hidden

PAGE_SIZE = 30


@perm_required(MANAGE_REVIEWS)
def reviews_index(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        review = get_object_or_404(Review, pk=request.POST.get("review") or 0)
        hidden = request.POST.get("hidden") == "1"
        review_set_hidden(review=review, hidden=hidden)
        messages.success(request, _("Review hidden.") if hidden else _("Review shown again."))
        return redirect(request.get_full_path())
    reviews = reviews_for_admin(hidden_only=request.GET.get("hidden") == "1")
    page = Paginator(reviews, PAGE_SIZE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "storefront/admin/reviews_index.html",
        {"page_title": _("Reviews"), "header_icon": "pick", "page": page},
    )
