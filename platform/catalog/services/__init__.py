"""Writes to the shared catalog (public schema), one module per concern:

- common: the audit trail, rich text, ownership and input checks
- suppliers: suppliers, their documents and shipping templates; categories
- products: products and SKUs as suppliers write them; staff curation
- vetting: a product's path to approval, the checklist, the supplier's notices
- prices: price terms, creators' retail prices in bounds, price changes on approved goods
- stock: the shared stock number of each SKU
- images: product images, and their changes on approved goods (vetted like prices)

Every write that a person makes is recorded in AuditEntry (and, for status changes, in the
supplier's or product's own history) in the same transaction as the change itself.

Import from the module that does the work (`from catalog.services.stock import
sku_stock_reserve`). The names below are re-exported for older callers and for tests that
drive the catalog as a whole (`services.product_make…`).
"""

from __future__ import annotations

from .common import EDITABLE_STATES, audit_record, rich_text_clean
from .images import (
    image_change_approve,
    image_change_reject,
    product_image_add,
    product_image_hide,
    product_images_reorder,
)
from .prices import (
    PriceTerms,
    fen_parse,
    price_change_approve,
    price_change_reject,
    price_change_request,
    price_terms_check,
    retail_price_check,
)
from .products import (
    product_create,
    product_set_active,
    product_set_featured,
    product_suspend,
    product_unsuspend,
    product_update,
    sku_create,
    sku_terms_update,
)
from .stock import (
    sku_stock_adjust,
    sku_stock_release,
    sku_stock_reserve,
    sku_stock_set,
    stock_parse,
)
from .suppliers import (
    RuleSpec,
    category_create,
    category_update,
    shipping_template_create,
    supplier_document_add,
    supplier_register,
    supplier_signup,
    supplier_status_set,
)
from .vetting import (
    CHECKLIST_ITEMS,
    product_approve,
    product_reject,
    product_request_changes,
    product_review_start,
    product_submit,
    vetting_notice_send,
)

__all__ = [
    "CHECKLIST_ITEMS",
    "EDITABLE_STATES",
    "PriceTerms",
    "RuleSpec",
    "audit_record",
    "category_create",
    "category_update",
    "fen_parse",
    "image_change_approve",
    "image_change_reject",
    "price_change_approve",
    "price_change_reject",
    "price_change_request",
    "price_terms_check",
    "product_approve",
    "product_create",
    "product_image_add",
    "product_image_hide",
    "product_images_reorder",
    "product_reject",
    "product_request_changes",
    "product_review_start",
    "product_set_active",
    "product_set_featured",
    "product_submit",
    "product_suspend",
    "product_unsuspend",
    "product_update",
    "retail_price_check",
    "rich_text_clean",
    "shipping_template_create",
    "sku_create",
    "sku_stock_adjust",
    "sku_stock_release",
    "sku_stock_reserve",
    "sku_stock_set",
    "sku_terms_update",
    "stock_parse",
    "supplier_document_add",
    "supplier_register",
    "supplier_signup",
    "supplier_status_set",
    "vetting_notice_send",
]
