"""The supplier portal at /supplier/ on the platform domain.

Every query starts from the logged-in user's own Supplier, so another supplier's ids and URLs
give 404 (not 403: a guess must not even learn that the row exists).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalog import csv_io
from catalog.forms import (
    CsvUploadForm,
    DocumentForm,
    ImageForm,
    PriceTermsForm,
    ProductForm,
    ShippingTemplateForm,
    SkuForm,
    StockForm,
    SupplierRegisterForm,
    SupplierSignupForm,
)
from catalog.limits import STOCK_MAX
from catalog.models import ImageChange, PriceChange, Product, Supplier
from catalog.selectors import (
    supplier_document_get,
    supplier_documents,
    supplier_product_get,
    supplier_products,
    supplier_shipping_templates,
    supplier_sku_get,
    supplier_skus,
)
from catalog.services.common import EDITABLE_STATES
from catalog.services.images import (
    product_image_add,
    product_image_hide,
    product_images_reorder,
)
from catalog.services.prices import PriceTerms, price_change_request
from catalog.services.products import (
    product_create,
    product_set_active,
    product_update,
    sku_create,
    sku_terms_update,
)
from catalog.services.stock import sku_stock_set
from catalog.services.suppliers import (
    RuleSpec,
    shipping_template_create,
    supplier_document_add,
    supplier_register,
    supplier_signup,
)
from catalog.services.vetting import product_submit as product_submit_service
from catalog.templatetags.catalog_tags import fen_as_yuan_input

PAGE_SIZE = 25


def errors_to_form(form: Any, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its field where the form has one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _user_pk(request: HttpRequest) -> Any:
    return request.user.pk


def supplier_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @login_required(login_url="login")
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        supplier = Supplier.objects.filter(user_id=_user_pk(request)).first()
        if supplier is None:
            return redirect("supplier:register")
        return view(request, supplier, *args, **kwargs)

    return wrapper


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def register(request: HttpRequest) -> HttpResponse:
    """Become a supplier: with the account you are logged in with, or a new one."""
    if request.user.is_authenticated:
        if Supplier.objects.filter(user_id=_user_pk(request)).exists():
            return redirect("supplier:home")
        form: SupplierRegisterForm = SupplierRegisterForm(request.POST or None)
    else:
        form = SupplierSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if request.user.is_authenticated:
                supplier_register(user=request.user, **form.cleaned_data)
            else:
                supplier = supplier_signup(**form.cleaned_data)
                login(request, supplier.user, backend="django.contrib.auth.backends.ModelBackend")
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, _("Registered. Upload your business licence for review."))
            return redirect("supplier:documents")
    return render(
        request,
        "console/supplier/register.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@supplier_required
def home(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    products = Product.objects.filter(supplier=supplier)
    by_status = dict(
        products.values_list("vetting_status").annotate(n=Count("pk")).order_by()  # type: ignore[arg-type]
    )
    # (state, its translated label, how many): the page never shows a raw "in_review".
    counts = [(value, label, by_status.get(value, 0)) for value, label in Product.Vetting.choices]
    return render(
        request,
        "console/supplier/home.html",
        {
            "supplier": supplier,
            "counts": counts,
            "low_stock": products.filter(skus__stock__lt=5, skus__is_active=True).distinct()[:10],
            "has_licence": supplier.documents.filter(
                kind="business_licence", is_withdrawn=False
            ).exists(),
            "has_shipping": supplier.shipping_templates.exists(),
        },
    )


# --- documents ----------------------------------------------------------------------------------


@supplier_required
def documents(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    form = DocumentForm(request.POST or None, request.FILES or None, supplier=supplier)
    if request.method == "POST" and form.is_valid():
        product = None
        if form.cleaned_data["product"]:
            product = supplier_product_get(supplier=supplier, pk=form.cleaned_data["product"])
        try:
            supplier_document_add(
                supplier=supplier,
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
                file=form.cleaned_data["file"],
                actor=request.user,
                product=product,
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, _("Document uploaded."))
            return redirect("supplier:documents")
    return render(
        request,
        "console/supplier/documents.html",
        {
            "supplier": supplier,
            "form": form,
            "page": _page(request, supplier_documents(supplier=supplier)),
        },
        status=400 if form.errors else 200,
    )


@supplier_required
def document_file(request: HttpRequest, supplier: Supplier, pk: int) -> FileResponse:
    document = supplier_document_get(supplier=supplier, pk=pk)
    return FileResponse(document.file.open("rb"), content_type=document.content_type)


# --- shipping -----------------------------------------------------------------------------------


@supplier_required
def shipping(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    form = ShippingTemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        regions = [r for r in data["regions"].replace("，", ",").split(",") if r.strip()]
        rules = []
        if regions:
            rules.append(
                RuleSpec(
                    regions=regions,
                    first_kg_fee_fen=data["first_kg_fee"] or 0,
                    extra_kg_fee_fen=data["extra_kg_fee"] or 0,
                )
            )
        try:
            shipping_template_create(
                supplier=supplier,
                name=data["name"],
                actor=request.user,
                rules=rules,
                default_fee_fen=data["default_fee"],
                free_over_fen=data["free_over"],
            )
        except ValidationError as exc:
            errors_to_form(form, _form_fields(exc))
        else:
            messages.success(request, _("Shipping template saved."))
            return redirect("supplier:shipping")
    return render(
        request,
        "console/supplier/shipping.html",
        {
            "supplier": supplier,
            "form": form,
            "templates": supplier_shipping_templates(supplier=supplier),
        },
        status=400 if form.errors else 200,
    )


# --- products -----------------------------------------------------------------------------------


@supplier_required
def products(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    qs = supplier_products(supplier=supplier).order_by("-updated_at", "-id")
    status = request.GET.get("status", "")
    if status in Product.Vetting.values:
        qs = qs.filter(vetting_status=status)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(skus__code__iexact=q)).distinct()
    return render(
        request,
        "console/supplier/products.html",
        {
            "supplier": supplier,
            "page": _page(request, qs),
            "status": status,
            "q": q,
            "statuses": Product.Vetting.choices,
        },
    )


@supplier_required
def product_new(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    if not supplier.shipping_templates.exists():
        messages.info(request, _("Create a shipping template first."))
        return redirect("supplier:shipping")
    form = ProductForm(request.POST or None, supplier=supplier)
    if request.method == "POST" and form.is_valid():
        try:
            product = product_create(supplier=supplier, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, _("Draft saved. Add SKUs and images, then submit it."))
            return redirect("supplier:product", pk=product.pk)
    return render(
        request,
        "console/supplier/product_form.html",
        {"supplier": supplier, "form": form},
        status=400 if form.errors else 200,
    )


@supplier_required
def product_detail(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    product = supplier_product_get(supplier=supplier, pk=pk)
    editable = product.vetting_status in EDITABLE_STATES
    initial = {
        "title": product.title,
        "category": product.category_id,
        "description": product.description,
        "weight_g": product.weight_g,
        "shipping_template": product.shipping_template_id,
        "return_policy": product.return_policy,
    }
    form = ProductForm(request.POST or None, supplier=supplier, initial=initial)
    if request.method == "POST" and editable and form.is_valid():
        try:
            product_update(
                product=product, supplier=supplier, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("supplier:product", pk=product.pk)
    return render(
        request,
        "console/supplier/product.html",
        {
            "supplier": supplier,
            "product": product,
            "editable": editable,
            "form": form,
            "skus": product.skus.all(),
            "images": product.images.filter(is_hidden=False),
            "image_changes": ImageChange.objects.filter(product=product)
            .select_related("image")
            .order_by("-created_at", "-id")[:20],
            "image_review": product.vetting_status == Product.Vetting.APPROVED,
            "events": product.vetting_events.select_related("actor"),
            "changes": PriceChange.objects.filter(sku__product=product).select_related("sku")[:20],
            "sku_form": SkuForm(),
            "image_form": ImageForm(),
        },
        status=400 if form.errors else 200,
    )


@supplier_required
@require_POST
def product_submit(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    product = supplier_product_get(supplier=supplier, pk=pk)
    try:
        product_submit_service(product=product, supplier=supplier, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Submitted for review."))
    return redirect("supplier:product", pk=product.pk)


@supplier_required
@require_POST
def product_active(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    product = supplier_product_get(supplier=supplier, pk=pk)
    active = request.POST.get("active") == "1"
    product_set_active(product=product, supplier=supplier, actor=request.user, is_active=active)
    messages.success(
        request, _("Product is on offer again.") if active else _("Product discontinued.")
    )
    return redirect("supplier:product", pk=product.pk)


@supplier_required
def sku_new(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    product = supplier_product_get(supplier=supplier, pk=pk)
    form = SkuForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sku_create(
                product=product,
                supplier=supplier,
                actor=request.user,
                code=data["code"],
                options=csv_io.options_parse(data["options"]),
                terms=_terms(data),
                stock=data["stock"],
            )
        except ValidationError as exc:
            errors_to_form(form, _form_fields(exc))
        else:
            messages.success(request, _("SKU added."))
            return redirect("supplier:product", pk=product.pk)
    return render(
        request,
        "console/supplier/sku_form.html",
        {"supplier": supplier, "product": product, "form": form},
        status=400 if form.errors else 200,
    )


def _terms(data: dict[str, Any]) -> PriceTerms:
    return PriceTerms(
        supply_price_fen=data["supply_price"],
        suggested_retail_fen=data["suggested_retail"],
        min_retail_fen=data["min_retail"],
        max_retail_fen=data["max_retail"],
    )


_FIELD_NAMES = {
    "supply_price_fen": "supply_price",
    "suggested_retail_fen": "suggested_retail",
    "min_retail_fen": "min_retail",
    "max_retail_fen": "max_retail",
    "default_fee_fen": "default_fee",
    "free_over_fen": "free_over",
    "first_kg_fee_fen": "first_kg_fee",
    "extra_kg_fee_fen": "extra_kg_fee",
}


def _form_fields(exc: ValidationError) -> ValidationError:
    """A service's errors on the (fen) fields it knows, moved to the form's (yuan) fields."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({_FIELD_NAMES.get(k, k): v for k, v in exc.error_dict.items()})


@supplier_required
def sku_prices(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    """Edit a SKU's price terms: directly on a draft, as a change for review once approved."""
    sku = supplier_sku_get(supplier=supplier, pk=pk)
    initial = {
        "supply_price": fen_as_yuan_input(sku.supply_price_fen),
        "suggested_retail": fen_as_yuan_input(sku.suggested_retail_fen),
        "min_retail": fen_as_yuan_input(sku.min_retail_fen),
        "max_retail": fen_as_yuan_input(sku.max_retail_fen),
    }
    form = PriceTermsForm(request.POST or None, initial=initial)
    approved = sku.product.vetting_status == Product.Vetting.APPROVED
    if request.method == "POST" and form.is_valid():
        try:
            if approved:
                price_change_request(
                    sku=sku, supplier=supplier, actor=request.user, terms=_terms(form.cleaned_data)
                )
                messages.success(
                    request, _("New prices sent for review; they apply once approved.")
                )
            else:
                sku_terms_update(
                    sku=sku, supplier=supplier, actor=request.user, terms=_terms(form.cleaned_data)
                )
                messages.success(request, _("Prices saved."))
        except ValidationError as exc:
            errors_to_form(form, _form_fields(exc))
        else:
            return redirect("supplier:product", pk=sku.product_id)
    return render(
        request,
        "console/supplier/sku_prices.html",
        {"supplier": supplier, "sku": sku, "form": form, "approved": approved},
        status=400 if form.errors else 200,
    )


@supplier_required
@require_POST
def sku_stock(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    sku = supplier_sku_get(supplier=supplier, pk=pk)
    form = StockForm(request.POST)
    if form.is_valid():
        try:
            sku_stock_set(
                sku=sku,
                supplier=supplier,
                actor=request.user,
                stock=form.cleaned_data["stock"],
                expected=form.cleaned_data["expected"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Stock of %(sku)s is now %(n)d.")
                % {"sku": sku.label, "n": form.cleaned_data["stock"]},
            )
    else:
        messages.error(
            request,
            _("Stock is a whole number from 0 to %(max)s.") % {"max": f"{STOCK_MAX:,}"},
        )
    if request.POST.get("back") == "stock":
        page = request.POST.get("page", "")
        return redirect(reverse("supplier:stock") + (f"?page={page}" if page.isdigit() else ""))
    return redirect("supplier:product", pk=sku.product_id)


@supplier_required
def stock(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    """Every SKU of the supplier on one paginated page, for a quick stock round."""
    qs = supplier_skus(supplier=supplier)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(product__title__icontains=q))
    if request.GET.get("low") == "1":
        qs = qs.filter(stock__lt=5)
    return render(
        request,
        "console/supplier/stock.html",
        {"supplier": supplier, "page": _page(request, qs), "q": q, "low": request.GET.get("low")},
    )


@supplier_required
def image_add(request: HttpRequest, supplier: Supplier, pk: int) -> HttpResponse:
    product = supplier_product_get(supplier=supplier, pk=pk)
    form = ImageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            image = product_image_add(
                product=product,
                supplier=supplier,
                actor=request.user,
                file=form.cleaned_data["file"],
                alt=form.cleaned_data["alt"],
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            if image.is_hidden:
                messages.success(
                    request, _("Image sent for review; shops show it once it is approved.")
                )
            else:
                messages.success(request, _("Image added."))
            return redirect("supplier:product", pk=product.pk)
    return render(
        request,
        "console/supplier/image_form.html",
        {"supplier": supplier, "product": product, "form": form},
        status=400 if form.errors else 200,
    )


@supplier_required
@require_POST
def image_hide(request: HttpRequest, supplier: Supplier, pk: int, image_pk: int) -> HttpResponse:
    product = supplier_product_get(supplier=supplier, pk=pk)
    if not product.images.filter(pk=image_pk).exists():
        raise Http404
    try:
        change = product_image_hide(
            product=product, supplier=supplier, actor=request.user, image_id=image_pk
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if change is not None:
            messages.success(
                request, _("Removal sent for review; shops show the image until it is approved.")
            )
        else:
            messages.success(request, _("Image removed."))
    return redirect("supplier:product", pk=product.pk)


@supplier_required
@require_POST
def image_first(request: HttpRequest, supplier: Supplier, pk: int, image_pk: int) -> HttpResponse:
    """Make one shown image the cover (first), keeping the others' order."""
    product = supplier_product_get(supplier=supplier, pk=pk)
    shown = list(product.images.filter(is_hidden=False).values_list("pk", flat=True))
    if image_pk not in shown:
        raise Http404
    order = [image_pk, *(i for i in shown if i != image_pk)]
    try:
        change = product_images_reorder(
            product=product, supplier=supplier, actor=request.user, order=order
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if change is not None:
            messages.success(
                request, _("New order sent for review; shops show it once it is approved.")
            )
        else:
            messages.success(request, _("Cover image changed."))
    return redirect("supplier:product", pk=product.pk)


# --- CSV ----------------------------------------------------------------------------------------


@supplier_required
def csv_page(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    import_errors: list[tuple[int | None, str]] = []
    if request.method == "POST" and form.is_valid():
        raw = form.cleaned_data["file"].read(csv_io.MAX_BYTES + 1)
        try:
            if form.cleaned_data["kind"] == "stock":
                result = csv_io.stock_import(supplier=supplier, actor=request.user, raw=raw)
                messages.success(
                    request, _("Stock updated for %(n)d SKUs.") % {"n": result.skus_updated}
                )
            else:
                result = csv_io.product_import(supplier=supplier, actor=request.user, raw=raw)
                messages.success(
                    request,
                    _("%(n)d draft products created.") % {"n": len(result.products_created)},
                )
        except csv_io.CsvImportError as exc:
            import_errors = exc.errors
        else:
            return redirect("supplier:csv")
    return render(
        request,
        "console/supplier/csv.html",
        {
            "supplier": supplier,
            "form": form,
            "import_errors": import_errors,
            "stock_columns": csv_io.STOCK_REQUIRED,
            "product_columns": csv_io.PRODUCT_REQUIRED,
            "product_optional": csv_io.PRODUCT_OPTIONAL,
        },
        status=400 if import_errors or form.errors else 200,
    )


@supplier_required
def csv_export(request: HttpRequest, supplier: Supplier) -> HttpResponse:
    response = HttpResponse(
        csv_io.export_csv(supplier=supplier), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="products-stock.csv"'
    return response
