"""A supplier's products and stock as CSV (tablib): export, and all-or-nothing imports.

An import checks every row first and writes only if all are good: one bad row in the middle of
a thousand names its line and imports nothing, so a supplier never has to work out which half
of a file went in.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import tablib
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from tablib.exceptions import InvalidDimensions

from core.text import text_problem

from .limits import WEIGHT_MAX_G
from .models import SKU, Category, ReturnPolicy, ShippingTemplate, Supplier
from .services.common import audit_record, text_clean, whole_number
from .services.prices import PriceTerms, price_terms_check
from .services.products import product_create, sku_create
from .services.stock import stock_parse

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000

EXPORT_HEADERS = [
    "product_id",
    "product_title",
    "vetting_status",
    "category_id",
    "sku_code",
    "options",
    "supply_price_fen",
    "suggested_retail_fen",
    "min_retail_fen",
    "max_retail_fen",
    "stock",
]
STOCK_REQUIRED = ["product_id", "sku_code", "stock"]
PRODUCT_REQUIRED = [
    "product_ref",
    "title",
    "category_id",
    "weight_g",
    "sku_code",
    "supply_price_fen",
    "suggested_retail_fen",
    "min_retail_fen",
    "max_retail_fen",
    "stock",
]
PRODUCT_OPTIONAL = ["options", "description", "return_policy", "shipping_template"]


class CsvImportError(Exception):
    """The file was refused; nothing was imported. `errors` are (line or None, message)."""

    def __init__(self, errors: list[tuple[int | None, str]]):
        self.errors = errors
        super().__init__("; ".join(f"line {n}: {m}" if n else m for n, m in errors))


@dataclass
class ImportResult:
    rows: int = 0
    products_created: list[int] = field(default_factory=list)
    skus_updated: int = 0


def options_format(options: dict[str, str]) -> str:
    return ";".join(f"{k}={v}" for k, v in options.items())


def options_parse(text: str) -> dict[str, str]:
    """Options written as 颜色=红;尺码=M, as a dict; full-width semicolons are accepted."""
    out: dict[str, str] = {}
    for part in (text or "").replace("；", ";").split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValidationError(_("Options are written like 颜色=红;尺码=M."))
        out[key.strip()] = value.strip()
    return out


def export_dataset(*, supplier: Supplier) -> tablib.Dataset:
    data = tablib.Dataset(headers=EXPORT_HEADERS)
    skus = (
        SKU.objects.filter(product__supplier=supplier)
        .select_related("product")
        .order_by("product_id", "id")
    )
    for sku in skus:
        p = sku.product
        data.append(
            [
                p.pk,
                p.title,
                p.vetting_status,
                p.category_id,
                sku.code,
                options_format(sku.options),
                sku.supply_price_fen,
                sku.suggested_retail_fen,
                sku.min_retail_fen,
                sku.max_retail_fen,
                sku.stock,
            ]
        )
    return data


def export_csv(*, supplier: Supplier) -> bytes:
    # With a BOM so that Excel (what most suppliers open it in) reads the Chinese correctly.
    return ("\ufeff" + export_dataset(supplier=supplier).export("csv")).encode("utf-8")


def _load(raw: bytes, required: list[str]) -> tablib.Dataset:
    if len(raw) > MAX_BYTES:
        raise CsvImportError([(None, _("The file is larger than 2 MB; split it."))])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvImportError(
            [(None, _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."))]
        ) from exc
    if not text.strip():
        raise CsvImportError([(None, _("The file is empty."))])
    problem = text_problem(text, multiline=True)
    if problem:
        # Python's csv reader stops at a NUL byte with a bare error: name the line instead.
        lines = enumerate(text.splitlines(), 1)
        bad = next((n for n, line in lines if text_problem(line, multiline=True)), None)
        raise CsvImportError([(bad, problem)])
    try:
        data = tablib.Dataset().load(text, format="csv")
    except InvalidDimensions as exc:
        raise CsvImportError(
            [(None, _("A row has more cells than the header has columns."))]
        ) from exc
    except Exception as exc:  # tablib raises several kinds for malformed CSV
        raise CsvImportError([(None, _("The file is not a readable CSV table."))]) from exc
    headers = [h.strip() if isinstance(h, str) else "" for h in (data.headers or [])]
    missing = [h for h in required if h not in headers]
    if missing:
        raise CsvImportError([(1, _("Missing columns: %(cols)s.") % {"cols": ", ".join(missing)})])
    data.headers = headers
    if data.height == 0:
        raise CsvImportError([(None, _("The file has no rows under its header."))])
    if data.height > MAX_ROWS:
        raise CsvImportError([(None, _("At most %(n)d rows per file.") % {"n": MAX_ROWS})])
    return data


def _messages(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _rows(data: tablib.Dataset) -> list[tuple[int, dict[str, str]]]:
    # Line 1 is the header, so the first data row is line 2, as a spreadsheet shows it.
    return [
        (index + 2, {k: (str(v).strip() if v is not None else "") for k, v in row.items()})
        for index, row in enumerate(data.dict)
    ]


# --- stock --------------------------------------------------------------------------------------


def stock_import(*, supplier: Supplier, actor: Any, raw: bytes) -> ImportResult:
    """Set stock from a file with product_id, sku_code and stock columns (extra columns ignored)."""
    data = _load(raw, STOCK_REQUIRED)
    rows = _rows(data)
    skus = {
        (str(s.product_id), s.code): s
        for s in SKU.objects.filter(product__supplier=supplier).only("id", "product_id", "code")
    }
    errors: list[tuple[int | None, str]] = []
    updates: dict[int, int] = {}
    for line, row in rows:
        sku = skus.get((row["product_id"], row["sku_code"]))
        if sku is None:
            # Another supplier's SKU reads the same as a missing one: nothing to learn by guessing.
            errors.append(
                (
                    line,
                    _("No SKU “%(code)s” in your product %(id)s.")
                    % {"code": row["sku_code"], "id": row["product_id"]},
                )
            )
            continue
        try:
            value = stock_parse(row["stock"])
        except ValidationError as exc:
            errors.append((line, _messages(exc)))
            continue
        if sku.pk in updates:
            errors.append((line, _("This SKU appears twice in the file.")))
            continue
        updates[sku.pk] = value
    if errors:
        raise CsvImportError(errors)
    with transaction.atomic():
        now = timezone.now()
        # Locked in primary-key order, like every multi-row lock here (no deadlocks).
        locked = SKU.objects.select_for_update().filter(pk__in=updates).order_by("pk")
        for sku in locked:
            SKU.objects.filter(pk=sku.pk).update(stock=updates[sku.pk], updated_at=now)
        audit_record(
            actor=actor,
            action="supplier.stock_import",
            supplier=supplier,
            detail={"rows": len(rows)},
        )
    return ImportResult(rows=len(rows), skus_updated=len(updates))


# --- new products -------------------------------------------------------------------------------


def product_import(*, supplier: Supplier, actor: Any, raw: bytes) -> ImportResult:
    """Create draft products from a file: rows sharing a product_ref are one product's SKUs."""
    data = _load(raw, PRODUCT_REQUIRED)
    rows = _rows(data)
    categories = {str(c.pk): c for c in Category.objects.filter(is_active=True)}
    templates = {t.name: t for t in ShippingTemplate.objects.filter(supplier=supplier)}
    default_template = next(iter(sorted(templates.values(), key=lambda t: t.pk)), None)
    groups: OrderedDict[str, list[tuple[int, dict[str, str]]]] = OrderedDict()
    errors: list[tuple[int | None, str]] = []
    for line, row in rows:
        if not row["product_ref"]:
            errors.append((line, _("product_ref is empty.")))
            continue
        groups.setdefault(row["product_ref"], []).append((line, row))

    plans: list[dict[str, Any]] = []
    for _ref, group in groups.items():
        first_line, head = group[0]
        plan: dict[str, Any] = {"line": first_line, "skus": []}
        try:
            plan["title"] = text_clean(head["title"], field="title", max_length=200)
        except ValidationError as exc:
            errors.append((first_line, "title: " + _messages(exc)))
        else:
            if not plan["title"]:
                errors.append((first_line, _("The title is empty.")))
        try:
            plan["description"] = text_clean(
                head.get("description", ""), field="description", multiline=True
            )
        except ValidationError as exc:
            errors.append((first_line, "description: " + _messages(exc)))
        category = categories.get(head["category_id"])
        if category is None:
            errors.append((first_line, _("Unknown or closed category %s.") % head["category_id"]))
        plan["category"] = category
        weight = whole_number(head["weight_g"])
        if weight is None or not 0 < weight <= WEIGHT_MAX_G:
            errors.append(
                (
                    first_line,
                    _("weight_g is a whole number of grams from 1 to %(max)s.")
                    % {"max": f"{WEIGHT_MAX_G:,}"},
                )
            )
        plan["weight_g"] = weight
        policy = head.get("return_policy") or ReturnPolicy.SEVEN_DAY
        if policy not in ReturnPolicy.values:
            errors.append(
                (
                    first_line,
                    _("return_policy is one of: %s.") % ", ".join(ReturnPolicy.values),
                )
            )
        plan["return_policy"] = policy
        template_name = head.get("shipping_template", "")
        template = templates.get(template_name) if template_name else default_template
        if template is None:
            errors.append((first_line, _("Create a shipping template first, or name yours.")))
        plan["shipping_template"] = template
        codes: set[str] = set()
        for line, row in group:
            try:
                clean_terms = price_terms_check(
                    PriceTerms(
                        supply_price_fen=row["supply_price_fen"],  # type: ignore[arg-type]
                        suggested_retail_fen=row["suggested_retail_fen"],  # type: ignore[arg-type]
                        min_retail_fen=row["min_retail_fen"],  # type: ignore[arg-type]
                        max_retail_fen=row["max_retail_fen"],  # type: ignore[arg-type]
                    )
                )
                stock = stock_parse(row["stock"])
                options = options_parse(row.get("options", ""))
                code = text_clean(row["sku_code"], field="sku_code", max_length=64)
            except ValidationError as exc:
                errors.append((line, _messages(exc)))
                continue
            if not code or code in codes:
                errors.append((line, _("sku_code is empty or repeated in this product.")))
                continue
            codes.add(code)
            plan["skus"].append((code, options, clean_terms, stock))
        plans.append(plan)
    if errors:
        raise CsvImportError(sorted(errors, key=lambda e: e[0] or 0))

    result = ImportResult(rows=len(rows))
    try:
        _products_write(supplier=supplier, actor=actor, plans=plans, result=result)
    except ValidationError as exc:  # a rule only the services know (all rows stay unwritten)
        raise CsvImportError([(None, _messages(exc))]) from exc
    return result


@transaction.atomic
def _products_write(
    *, supplier: Supplier, actor: Any, plans: list[dict[str, Any]], result: ImportResult
) -> None:
    for plan in plans:
        product = product_create(
            supplier=supplier,
            actor=actor,
            category=plan["category"],
            title=plan["title"],
            weight_g=plan["weight_g"],
            shipping_template=plan["shipping_template"],
            description=plan["description"],
            return_policy=plan["return_policy"],
        )
        for code, options, clean_terms, stock in plan["skus"]:
            sku_create(
                product=product,
                supplier=supplier,
                actor=actor,
                code=code,
                options=options,
                terms=clean_terms,
                stock=stock,
            )
        result.products_created.append(product.pk)
    audit_record(
        actor=actor,
        action="supplier.product_import",
        supplier=supplier,
        detail={"rows": result.rows, "products": result.products_created},
    )
