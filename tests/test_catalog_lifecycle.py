"""Suppliers and products through their life cycles; every vetting move, and the illegal ones."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from catalog import services
from catalog.models import AuditEntry, Product, Supplier, SupplierStatusChange, VettingEvent
from catalog.selectors import listable_products
from catalog.testing import (
    category_make,
    product_make,
    staff_make,
    supplier_make,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

V = Product.Vetting
ALL_CHECKS = dict.fromkeys(services.CHECKLIST_ITEMS, True)


def test_new_supplier_is_pending_until_staff_approve_and_history_records_each_decision():
    supplier = supplier_make(approved=False)
    staff = staff_make()
    assert supplier.status == Supplier.Status.PENDING

    services.supplier_status_set(supplier=supplier, to_status="approved", actor=staff)
    services.supplier_status_set(
        supplier=supplier, to_status="suspended", actor=staff, note="资质过期"
    )
    supplier = services.supplier_status_set(supplier=supplier, to_status="approved", actor=staff)

    assert supplier.status == Supplier.Status.APPROVED
    history = list(
        SupplierStatusChange.objects.filter(supplier=supplier)
        .order_by("id")
        .values_list("from_status", "to_status", "actor_id")
    )
    assert history == [
        ("pending", "approved", staff.pk),
        ("approved", "suspended", staff.pk),
        ("suspended", "approved", staff.pk),
    ]


def test_supplier_suspension_needs_a_reason():
    supplier = supplier_make()
    with pytest.raises(ValidationError):
        services.supplier_status_set(supplier=supplier, to_status="suspended", actor=staff_make())
    supplier.refresh_from_db()
    assert supplier.status == Supplier.Status.APPROVED


def test_supplier_cannot_jump_to_an_unknown_or_same_status():
    supplier = supplier_make()
    for target in ("approved", "pending", "deleted"):
        with pytest.raises(ValidationError):
            services.supplier_status_set(supplier=supplier, to_status=target, actor=staff_make())


def test_supplier_registration_checks_the_credit_code():
    from catalog.testing import user_make

    with pytest.raises(ValidationError):
        services.supplier_register(
            user=user_make(),
            company_name="坏代码公司",
            credit_code="123",
            contact_name="李",
            contact_phone="1",
        )
    assert not Supplier.objects.filter(company_name="坏代码公司").exists()


def test_pending_supplier_cannot_submit_goods():
    supplier = supplier_make(approved=False)
    product = product_make(supplier=supplier, status=V.DRAFT)

    with pytest.raises(ValidationError) as exc:
        services.product_submit(product=product, supplier=supplier, actor=supplier.user)

    assert exc.value.code == "supplier_not_approved"
    product.refresh_from_db()
    assert product.vetting_status == V.DRAFT


def test_product_goes_submitted_in_review_approved_and_becomes_listable():
    product = product_make(status=V.DRAFT)
    supplier = product.supplier
    staff = staff_make()
    assert product not in listable_products()

    services.product_submit(product=product, supplier=supplier, actor=supplier.user)
    services.product_review_start(product=product, actor=staff)
    product = services.product_approve(
        product=product, actor=staff, checklist=ALL_CHECKS, note="OK"
    )

    assert product.vetting_status == V.APPROVED
    assert product.approved_at is not None
    assert product in listable_products()
    events = list(
        VettingEvent.objects.filter(product=product)
        .order_by("id")
        .values_list("from_status", "to_status")
    )
    assert events == [
        ("draft", "submitted"),
        ("submitted", "in_review"),
        ("in_review", "approved"),
    ]
    assert VettingEvent.objects.filter(product=product, to_status="approved").get().checklist == (
        ALL_CHECKS
    )


def test_changes_requested_returns_the_note_and_the_supplier_can_resubmit():
    product = product_make(status=V.IN_REVIEW)
    staff = staff_make()

    services.product_request_changes(
        product=product,
        actor=staff,
        note="主图请去掉“最好”字样（广告法）",
        checklist={"qualifications": True, "claims": False},
    )
    product.refresh_from_db()
    assert product.vetting_status == V.CHANGES_REQUESTED
    event = VettingEvent.objects.filter(product=product).first()
    assert event.note.startswith("主图")
    assert event.checklist["claims"] is False

    services.product_submit(product=product, supplier=product.supplier, actor=product.supplier.user)
    product.refresh_from_db()
    assert product.vetting_status == V.SUBMITTED


def test_rejected_product_stays_rejected_and_cannot_be_resubmitted():
    product = product_make(status=V.IN_REVIEW)
    services.product_reject(product=product, actor=staff_make(), note="三无产品")

    with pytest.raises(ValidationError) as exc:
        services.product_submit(
            product=product, supplier=product.supplier, actor=product.supplier.user
        )

    assert exc.value.code == "illegal_transition"
    product.refresh_from_db()
    assert product.vetting_status == V.REJECTED
    assert product not in listable_products()


@pytest.mark.parametrize(
    ("start", "move"),
    [
        (V.DRAFT, "review"),
        (V.DRAFT, "approve"),
        (V.SUBMITTED, "approve"),
        (V.SUBMITTED, "reject"),
        (V.SUBMITTED, "changes"),
        (V.SUBMITTED, "submit"),
        (V.IN_REVIEW, "submit"),
        (V.IN_REVIEW, "review"),
        (V.APPROVED, "submit"),
        (V.APPROVED, "approve"),
        (V.APPROVED, "review"),
        (V.APPROVED, "reject"),
    ],
)
def test_illegal_vetting_moves_are_refused_and_change_nothing(start, move):
    product = product_make(status=start)
    staff = staff_make()
    before = VettingEvent.objects.filter(product=product).count()
    moves = {
        "submit": lambda: services.product_submit(
            product=product, supplier=product.supplier, actor=product.supplier.user
        ),
        "review": lambda: services.product_review_start(product=product, actor=staff),
        "approve": lambda: services.product_approve(
            product=product, actor=staff, checklist=ALL_CHECKS
        ),
        "reject": lambda: services.product_reject(product=product, actor=staff, note="no"),
        "changes": lambda: services.product_request_changes(
            product=product, actor=staff, note="fix"
        ),
    }

    with pytest.raises(ValidationError) as exc:
        moves[move]()

    assert exc.value.code == "illegal_transition"
    product.refresh_from_db()
    assert product.vetting_status == start
    assert VettingEvent.objects.filter(product=product).count() == before


def test_approval_needs_every_checklist_item_ticked():
    product = product_make(status=V.IN_REVIEW)

    with pytest.raises(ValidationError) as exc:
        services.product_approve(
            product=product,
            actor=staff_make(),
            checklist={"qualifications": True, "price_sanity": True, "images": True},
        )

    assert exc.value.code == "checklist_incomplete"
    product.refresh_from_db()
    assert product.vetting_status == V.IN_REVIEW


def test_rejection_and_change_requests_need_a_note_for_the_supplier():
    product = product_make(status=V.IN_REVIEW)
    with pytest.raises(ValidationError):
        services.product_reject(product=product, actor=staff_make(), note=" ")
    with pytest.raises(ValidationError):
        services.product_request_changes(product=product, actor=staff_make(), note="")
    product.refresh_from_db()
    assert product.vetting_status == V.IN_REVIEW


def test_submission_needs_a_sku_and_an_image():
    supplier = supplier_make()
    product = product_make(supplier=supplier, status=V.DRAFT, skus=0)
    with pytest.raises(ValidationError) as exc:
        services.product_submit(product=product, supplier=supplier, actor=supplier.user)
    assert exc.value.code == "no_sku"


def test_approved_product_content_is_not_editable_directly():
    product = product_make()
    with pytest.raises(ValidationError):
        services.product_update(
            product=product,
            supplier=product.supplier,
            actor=product.supplier.user,
            category=product.category,
            title="偷偷改名",
            weight_g=100,
            shipping_template=product.shipping_template,
            description="",
            return_policy="seven_day",
        )
    product.refresh_from_db()
    assert product.title != "偷偷改名"


def test_supplier_cannot_touch_another_suppliers_product_through_services():
    product = product_make(status=V.DRAFT)
    intruder = supplier_make()

    with pytest.raises(PermissionDenied):
        services.product_submit(product=product, supplier=intruder, actor=intruder.user)
    with pytest.raises(PermissionDenied):
        services.sku_stock_set(
            sku=product.skus.first(), supplier=intruder, actor=intruder.user, stock=0
        )


def test_suspending_a_supplier_hides_all_its_goods_from_the_catalog():
    product = product_make()
    assert product in listable_products()

    services.supplier_status_set(
        supplier=product.supplier, to_status="suspended", actor=staff_make(), note="投诉"
    )

    assert product not in listable_products()


def test_suspended_or_deactivated_product_leaves_the_catalog_but_is_kept():
    product = product_make()
    staff = staff_make()

    services.product_suspend(product=product, actor=staff, reason="质检不合格")
    assert product not in listable_products()
    services.product_unsuspend(product=product, actor=staff)
    assert product in listable_products()
    services.product_set_active(
        product=product, supplier=product.supplier, actor=product.supplier.user, is_active=False
    )
    assert product not in listable_products()
    assert Product.objects.filter(pk=product.pk).exists()


def test_catalog_rows_cannot_be_hard_deleted_while_referenced():
    from django.db.models import ProtectedError

    product = product_make()
    with pytest.raises(ProtectedError):
        product.supplier.delete()


def test_every_staff_decision_is_in_the_audit_log_with_its_actor():
    product = product_make(status=V.IN_REVIEW)
    staff = staff_make()
    services.product_approve(product=product, actor=staff, checklist=ALL_CHECKS)
    services.product_set_featured(product=product, actor=staff, is_featured=True)

    actions = set(
        AuditEntry.objects.filter(product=product, actor=staff).values_list("action", flat=True)
    )
    assert {"product.approved", "product.feature"} <= actions


def test_description_is_sanitised():
    supplier = supplier_make()
    product = product_make(supplier=supplier, status=V.DRAFT)
    product = services.product_update(
        product=product,
        supplier=supplier,
        actor=supplier.user,
        category=product.category,
        title="安全描述",
        weight_g=300,
        shipping_template=product.shipping_template,
        description='<p onclick="x()">好<script>alert(1)</script><a href="javascript:x">链</a></p>',
        return_policy="perishable",
    )

    assert "script" not in product.description
    assert "onclick" not in product.description
    assert "javascript" not in product.description
    assert "<p>好" in product.description
    assert product.return_policy == "perishable"


def test_category_cannot_be_moved_inside_itself():
    root = category_make(name="母婴根")
    child = category_make(name="奶粉子", parent=root)

    with pytest.raises(ValidationError):
        services.category_update(
            category=root, actor=staff_make(), name="母婴根", parent=child, is_active=True
        )


def test_demo_catalog_seed_makes_listable_goods_and_is_safe_to_run_again():
    from django.core.management import call_command

    from catalog.demo import SUPPLIERS

    call_command("seed_catalog")
    call_command("seed_catalog")

    codes = [s["credit_code"] for s in SUPPLIERS]
    assert Supplier.objects.filter(credit_code__in=codes, status="approved").count() == 2
    assert listable_products().filter(supplier__credit_code__in=codes).count() == 4


@pytest.mark.parametrize("model", ["product", "sku", "supplier", "vetting_event"])
def test_database_refuses_to_hard_delete_catalog_rows(model):
    from django.db import DatabaseError, transaction

    from catalog.models import SKU

    product = product_make()
    rows = {
        "product": Product.objects.filter(pk=product.pk),
        "sku": SKU.objects.filter(product=product),
        "supplier": Supplier.objects.filter(pk=product.supplier_id),
        "vetting_event": VettingEvent.objects.filter(product=product),
    }

    # A raw DELETE skips Django's PROTECT checks; the trigger still stops it.
    with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic():
        rows[model]._raw_delete(rows[model].db)

    assert rows[model].exists()


def test_removing_a_shop_drops_its_listing_registry_rows():
    from catalog.models import ShopListing
    from tenants.models import Tenant

    product = product_make()
    shop = Tenant.objects.create(schema_name="shop_gone_catalog", name="Gone")
    ShopListing.objects.create(tenant=shop, product=product, listing_number=1)

    shop.delete()

    assert not ShopListing.objects.filter(product=product).exists()
    assert Product.objects.filter(pk=product.pk).exists()


def test_decision_is_emailed_to_the_supplier_after_commit(
    django_capture_on_commit_callbacks, mailoutbox
):
    product = product_make(status=V.IN_REVIEW)
    user = product.supplier.user
    user.email = "supplier@example.com"
    user.save()

    with django_capture_on_commit_callbacks() as callbacks:
        services.product_request_changes(product=product, actor=staff_make(), note="请补充检测报告")
    assert len(callbacks) == 1  # queued only once the decision is committed
    event = VettingEvent.objects.filter(product=product).first()

    assert services.vetting_notice_send(event_id=event.pk) is True
    assert mailoutbox[-1].to == ["supplier@example.com"]
    assert "请补充检测报告" in mailoutbox[-1].body
