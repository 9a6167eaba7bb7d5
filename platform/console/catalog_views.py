"""Staff console for the catalog: vetting, supplier review, curation, categories, audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalog.forms import CategoryForm, ReasonForm, ReviewForm, SupplierDecisionForm
from catalog.models import (
    Category,
    ImageChange,
    PriceChange,
    Product,
    Supplier,
    SupplierDocument,
)
from catalog.selectors import (
    audit_entries,
    category_tree,
    pending_image_changes,
    pending_price_changes,
    vetting_queue,
)
from catalog.services.images import image_change_approve, image_change_reject
from catalog.services.prices import price_change_approve, price_change_reject
from catalog.services.products import (
    product_set_featured,
    product_suspend,
    product_unsuspend,
)
from catalog.services.suppliers import category_create, category_update, supplier_status_set
from catalog.services.vetting import (
    product_approve,
    product_reject,
    product_request_changes,
    product_review_start,
)

from .supplier_views import errors_to_form

PAGE_SIZE = 30
staff_required: Callable[[Callable[..., Any]], Callable[..., Any]] = staff_member_required(
    login_url="login"
)


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _form_errors(form: Any) -> str:
    """A refused form's messages in one line, for a page that answers with a redirect."""
    return " ".join(str(m) for errors in form.errors.values() for m in errors)


# --- vetting ------------------------------------------------------------------------------------


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    qs = vetting_queue(
        status=status if status in Product.Vetting.values else "",
        supplier_id=_int(request.GET.get("supplier")),
        category_id=_int(request.GET.get("category")),
        q=request.GET.get("q", "").strip(),
    )
    return render(
        request,
        "console/catalog/queue.html",
        {
            "page": _page(request, qs),
            "statuses": Product.Vetting.choices,
            "suppliers": Supplier.objects.order_by("company_name"),
            "categories": category_tree(),
            "filters": request.GET,
        },
    )


@staff_required
def products(request: HttpRequest) -> HttpResponse:
    """Curation: every product, whatever its state, to feature or suspend."""
    qs = Product.objects.select_related("supplier", "category").order_by("-updated_at", "-id")
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(supplier__company_name__icontains=q))
    status = request.GET.get("status", "")
    if status in Product.Vetting.values:
        qs = qs.filter(vetting_status=status)
    flag = request.GET.get("flag", "")
    if flag == "suspended":
        qs = qs.filter(is_suspended=True)
    elif flag == "featured":
        qs = qs.filter(is_featured=True)
    return render(
        request,
        "console/catalog/products.html",
        {"page": _page(request, qs), "statuses": Product.Vetting.choices, "filters": request.GET},
    )


@staff_required
def product(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Product.objects.select_related("supplier", "category"), pk=pk)
    return render(
        request,
        "console/catalog/product.html",
        {
            "product": item,
            "skus": item.skus.all(),
            "images": item.images.filter(is_hidden=False),
            "image_changes": pending_image_changes().filter(product=item),
            "documents": SupplierDocument.objects.filter(supplier=item.supplier).filter(
                Q(product=item) | Q(product__isnull=True)
            ),
            "events": item.vetting_events.select_related("actor"),
            "review_form": ReviewForm(),
            "reason_form": ReasonForm(),
            "shops": item.shop_listings.count(),
        },
    )


@staff_required
@require_POST
def review_start(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Product, pk=pk)
    try:
        product_review_start(product=item, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("console:catalog:product", pk=pk)


@staff_required
@require_POST
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Product.objects.select_related("supplier"), pk=pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        decision = form.cleaned_data["decision"]
        note = form.cleaned_data["note"]
        try:
            if decision == "approve":
                product_approve(
                    product=item, actor=request.user, checklist=form.checklist(), note=note
                )
            elif decision == "changes":
                product_request_changes(
                    product=item, actor=request.user, note=note, checklist=form.checklist()
                )
            else:
                product_reject(
                    product=item, actor=request.user, note=note, checklist=form.checklist()
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Decision recorded."))
    else:
        messages.error(request, _form_errors(form) or _("Choose a decision."))
    return redirect("console:catalog:product", pk=pk)


@staff_required
@require_POST
def suspend(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Product, pk=pk)
    if request.POST.get("lift") == "1":
        product_unsuspend(product=item, actor=request.user)
        messages.success(request, _("Suspension lifted."))
    else:
        form = ReasonForm(request.POST)
        if form.is_valid():
            product_suspend(product=item, actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("Product suspended: shops show it as unavailable."))
        else:
            messages.error(request, _form_errors(form) or _("Say why the product is suspended."))
    return redirect("console:catalog:product", pk=pk)


@staff_required
@require_POST
def feature(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Product, pk=pk)
    product_set_featured(
        product=item, actor=request.user, is_featured=request.POST.get("featured") == "1"
    )
    return redirect("console:catalog:product", pk=pk)


# --- suppliers ----------------------------------------------------------------------------------


@staff_required
def suppliers(request: HttpRequest) -> HttpResponse:
    qs = Supplier.objects.annotate(product_count=Count("products")).order_by("company_name")
    status = request.GET.get("status", "")
    if status in Supplier.Status.values:
        qs = qs.filter(status=status)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(company_name__icontains=q) | Q(credit_code__iexact=q))
    return render(
        request,
        "console/catalog/suppliers.html",
        {"page": _page(request, qs), "statuses": Supplier.Status.choices, "filters": request.GET},
    )


@staff_required
def supplier(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Supplier, pk=pk)
    form = SupplierDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            supplier_status_set(
                supplier=item,
                to_status=form.cleaned_data["to_status"],
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, _("Supplier status changed."))
            return redirect("console:catalog:supplier", pk=pk)
    return render(
        request,
        "console/catalog/supplier.html",
        {
            "supplier": item,
            "form": form,
            "documents": item.documents.select_related("product"),
            "history": item.status_changes.select_related("actor"),
            "products": item.products.order_by("-updated_at")[:50],
        },
        status=400 if form.errors else 200,
    )


@staff_required
def document_file(request: HttpRequest, pk: int) -> FileResponse:
    document = get_object_or_404(SupplierDocument, pk=pk)
    return FileResponse(document.file.open("rb"), content_type=document.content_type)


# --- categories ---------------------------------------------------------------------------------


@staff_required
def categories(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            category_create(
                name=form.cleaned_data["name"],
                parent=form.cleaned_data["parent"],
                position=form.cleaned_data["position"],
                actor=request.user,
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, _("Category created."))
            return redirect("console:catalog:categories")
    counts = dict(
        Category.objects.annotate(n=Count("products")).values_list("pk", "n")  # type: ignore[arg-type]
    )
    return render(
        request,
        "console/catalog/categories.html",
        {"tree": category_tree(), "form": form, "counts": counts},
        status=400 if form.errors else 200,
    )


@staff_required
def category(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Category, pk=pk)
    initial = {
        "name": item.name,
        "parent": item.parent_id,
        "position": item.position,
        "is_active": item.is_active,
    }
    form = CategoryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            category_update(
                category=item,
                actor=request.user,
                name=form.cleaned_data["name"],
                parent=form.cleaned_data["parent"],
                is_active=form.cleaned_data["is_active"],
                position=form.cleaned_data["position"],
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, _("Category saved."))
            return redirect("console:catalog:categories")
    return render(
        request,
        "console/catalog/category.html",
        {"category": item, "form": form},
        status=400 if form.errors else 200,
    )


# --- price changes ------------------------------------------------------------------------------


@staff_required
def price_changes(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/catalog/price_changes.html",
        {"page": _page(request, pending_price_changes())},
    )


@staff_required
@require_POST
def price_change_decide(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(PriceChange, pk=pk)
    try:
        if request.POST.get("decision") == "approve":
            change = price_change_approve(change=change, actor=request.user)
            messages.success(
                request,
                _(
                    "New terms apply. The shops listing the SKU now check their prices; "
                    "prices outside the new bounds are flagged to their creators."
                ),
            )
        else:
            price_change_reject(
                change=change, actor=request.user, note=request.POST.get("note", "")
            )
            messages.success(request, _("Price change rejected."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("console:catalog:price_changes")


# --- image changes -----------------------------------------------------------------------------


@staff_required
def image_changes(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/catalog/image_changes.html",
        {"page": _page(request, pending_image_changes())},
    )


@staff_required
@require_POST
def image_change_decide(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(ImageChange, pk=pk)
    try:
        if request.POST.get("decision") == "approve":
            image_change_approve(change=change, actor=request.user)
            messages.success(request, _("Image change approved: shops show it now."))
        else:
            image_change_reject(
                change=change, actor=request.user, note=request.POST.get("note", "")
            )
            messages.success(request, _("Image change rejected."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if request.POST.get("back") == "product":
        return redirect("console:catalog:product", pk=change.product_id)
    return redirect("console:catalog:image_changes")


# --- audit --------------------------------------------------------------------------------------


@staff_required
def audit(request: HttpRequest) -> HttpResponse:
    qs = audit_entries(
        action=request.GET.get("action", "").strip(),
        supplier_id=_int(request.GET.get("supplier")),
        actor=request.GET.get("actor", "").strip(),
    )
    return render(
        request,
        "console/catalog/audit.html",
        {
            "page": _page(request, qs),
            "filters": request.GET,
            "suppliers": Supplier.objects.order_by("company_name"),
        },
    )
