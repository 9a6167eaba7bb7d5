"""Forms of the supplier portal, the staff console and the creator's catalog view.

Forms only parse and shape input; the rules live in catalog.services (and the errors they raise
are put back on the form by the views).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import SafeFormMixin
from core.money import yuan, yuan_parse

from .limits import FEE_MAX_FEN, PRICE_MAX_FEN, STOCK_MAX, WEIGHT_MAX_G
from .models import Category, Product, ReturnPolicy, ShippingTemplate, Supplier, SupplierDocument
from .selectors import category_tree
from .services.vetting import CHECKLIST_ITEMS, CHECKLIST_LABELS
from .uploads import DOCUMENT_MAX_BYTES, IMAGE_MAX_BYTES


class YuanField(forms.CharField):
    """An amount typed in yuan ("89.9", "89.90", "89", "¥1,299"), cleaned to integer fen from
    0 to MAX_FEN (a price up to ¥1,000,000 unless told otherwise).

    Parsed by core.money.yuan_parse (Decimal, never float: 0.1 + 0.2 must not become
    30.000000000000004 fen), which refuses exponents: "1e9" and "1e99" are errors, not amounts.
    """

    def __init__(self, *, max_fen: int = PRICE_MAX_FEN, **kwargs: Any) -> None:
        self.max_fen = max_fen
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off", "maxlength": 14})

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        text = str(value).replace("¥", "").replace("￥", "").replace(",", "").strip()
        if text.startswith("-"):
            raise ValidationError(_("A price cannot be negative."), code="negative")
        if "." in text and len(text.partition(".")[2]) > 2:
            raise ValidationError(_("At most two decimals (fen)."), code="not_integer")
        try:
            fen = yuan_parse(text)
        except ValueError as exc:
            raise ValidationError(
                _("Enter an amount in yuan, e.g. 89.90."), code="invalid"
            ) from exc
        if fen > self.max_fen:
            raise ValidationError(
                _("At most %(max)s.") % {"max": yuan(self.max_fen)}, code="too_large"
            )
        return fen


def category_choices(*, active_only: bool = True) -> list[tuple[str, str]]:
    return [
        (str(c.pk), "— " * depth + c.name) for c, depth in category_tree(active_only=active_only)
    ]


class SupplierRegisterForm(SafeFormMixin, forms.ModelForm):
    class Meta:
        model = Supplier
        fields = ["company_name", "credit_code", "contact_name", "contact_phone", "address"]


class SupplierSignupForm(SupplierRegisterForm):
    """For visitors without a platform account: the account and the company in one step."""

    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"))
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    field_order = ["username", "email", "password"]


class DocumentForm(SafeFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=SupplierDocument.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    product = forms.TypedChoiceField(
        label=_("Product (for a product certificate)"), required=False, coerce=int, empty_value=None
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF or image (JPEG, PNG, WebP), at most %(mb)d MB.")
        % {"mb": DOCUMENT_MAX_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.webp"}),
    )

    def __init__(self, *args: Any, supplier: Supplier, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(p.pk), p.title) for p in Product.objects.filter(supplier=supplier)
        ]


class ProductForm(SafeFormMixin, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    category = forms.TypedChoiceField(label=_("Category"), coerce=int)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Simple HTML is kept (paragraphs, lists, bold, links, images)."),
    )
    weight_g = forms.IntegerField(label=_("Weight (g)"), min_value=1, max_value=WEIGHT_MAX_G)
    shipping_template = forms.TypedChoiceField(label=_("Shipping template"), coerce=int)
    return_policy = forms.ChoiceField(
        label=_("Return policy"), choices=ReturnPolicy.choices, initial=ReturnPolicy.SEVEN_DAY
    )

    def __init__(self, *args: Any, supplier: Supplier, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.supplier = supplier
        self.fields["category"].choices = category_choices()  # type: ignore[attr-defined]
        self.fields["shipping_template"].choices = [  # type: ignore[attr-defined]
            (str(t.pk), t.name) for t in ShippingTemplate.objects.filter(supplier=supplier)
        ]

    def clean_category(self) -> Category:
        return Category.objects.get(pk=self.cleaned_data["category"])

    def clean_shipping_template(self) -> ShippingTemplate:
        return ShippingTemplate.objects.get(
            pk=self.cleaned_data["shipping_template"], supplier=self.supplier
        )


class PriceTermsForm(SafeFormMixin, forms.Form):
    supply_price = YuanField(label=_("Supply price (¥)"))
    suggested_retail = YuanField(label=_("Suggested retail price (¥)"))
    min_retail = YuanField(label=_("Minimum retail price (¥)"))
    max_retail = YuanField(label=_("Maximum retail price (¥)"))


class SkuForm(PriceTermsForm):
    code = forms.CharField(label=_("SKU code"), max_length=64)
    options = forms.CharField(
        label=_("Options"),
        required=False,
        help_text=_("For example 颜色=红;尺码=M"),
        max_length=300,
    )
    stock = forms.IntegerField(label=_("Stock"), min_value=0, max_value=STOCK_MAX, initial=0)

    field_order = ["code", "options", "supply_price", "suggested_retail", "min_retail"]


class StockForm(SafeFormMixin, forms.Form):
    stock = forms.IntegerField(label=_("Stock"), min_value=0, max_value=STOCK_MAX)
    # The stock shown when the page was loaded (see services.sku_stock_set).
    expected = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)


class ImageForm(SafeFormMixin, forms.Form):
    file = forms.FileField(
        label=_("Image"),
        help_text=_("JPEG, PNG or WebP, at most %(mb)d MB.")
        % {"mb": IMAGE_MAX_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(attrs={"accept": ".jpg,.jpeg,.png,.webp"}),
    )
    alt = forms.CharField(label=_("Description of the image"), max_length=200, required=False)


class ShippingTemplateForm(SafeFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    default_fee = YuanField(
        max_fen=FEE_MAX_FEN,
        label=_("Fee for other regions (¥)"),
        required=False,
        help_text=_("Leave empty if you do not deliver to other regions."),
    )
    free_over = YuanField(label=_("Free delivery from order value (¥)"), required=False)
    regions = forms.CharField(
        max_length=300,
        label=_("Regions with their own fee"),
        required=False,
        help_text=_("Comma-separated, for example 新疆,西藏"),
    )
    first_kg_fee = YuanField(
        max_fen=FEE_MAX_FEN, label=_("Their fee for the first kg (¥)"), required=False
    )
    extra_kg_fee = YuanField(
        max_fen=FEE_MAX_FEN, label=_("Their fee per extra kg (¥)"), required=False
    )


class CsvUploadForm(SafeFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("What the file holds"),
        choices=[("stock", _("Stock of existing SKUs")), ("products", _("New products"))],
    )
    file = forms.FileField(
        label=_("CSV file (UTF-8)"), widget=forms.ClearableFileInput(attrs={"accept": ".csv"})
    )


# --- staff --------------------------------------------------------------------------------------


class ReviewForm(SafeFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("approve", _("Approve")),
            ("changes", _("Request changes")),
            ("reject", _("Reject")),
        ],
    )
    note = forms.CharField(
        label=_("Note to the supplier"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for item in CHECKLIST_ITEMS:
            self.fields[f"check_{item}"] = forms.BooleanField(
                label=CHECKLIST_LABELS[item], required=False
            )

    def checklist(self) -> dict[str, bool]:
        return {item: bool(self.cleaned_data.get(f"check_{item}")) for item in CHECKLIST_ITEMS}


class ReasonForm(SafeFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class SupplierDecisionForm(SafeFormMixin, forms.Form):
    to_status = forms.ChoiceField(label=_("New status"), choices=Supplier.Status.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CategoryForm(SafeFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    parent = forms.TypedChoiceField(label=_("Parent"), required=False, coerce=int, empty_value=None)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [  # type: ignore[attr-defined]
            ("", _("(top level)")),
            *category_choices(active_only=False),
        ]

    def clean_parent(self) -> Category | None:
        pk = self.cleaned_data.get("parent")
        return Category.objects.get(pk=pk) if pk else None


# --- creators -----------------------------------------------------------------------------------


class CatalogFilterForm(SafeFormMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    category = forms.TypedChoiceField(
        label=_("Category"), required=False, coerce=int, empty_value=None
    )
    supplier = forms.TypedChoiceField(
        label=_("Supplier"), required=False, coerce=int, empty_value=None
    )
    min_price = YuanField(label=_("Price from (¥)"), required=False)
    max_price = YuanField(label=_("Price to (¥)"), required=False)
    min_margin = YuanField(label=_("Margin at least (¥)"), required=False)
    min_rating = forms.TypedChoiceField(
        label=_("Rating"),
        required=False,
        coerce=float,
        empty_value=None,
        choices=[("", _("any")), ("4", "4+"), ("4.5", "4.5+")],
    )
    order = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("featured", _("Featured")),
            ("newest", _("Newest")),
            ("price", _("Price")),
            ("margin", _("Margin")),
            ("rating", _("Rating")),
        ],
    )

    def __init__(self, *args: Any, suppliers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("all")), *category_choices()]  # type: ignore[attr-defined]
        self.fields["supplier"].choices = [("", _("all")), *suppliers]  # type: ignore[attr-defined]
