"""Monthly statements: figures from the ledger, Chinese PDFs on S3, idempotent re-rendering,
signed links that expire and cannot be bent to another statement, and isolation."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.documents.models import Statement
from billing.documents.selectors import statement_figures
from billing.documents.services import document_link, statement_render, statement_request
from billing.documents.tasks import statement_render_task, statements_monthly_task
from billing.ledger import AccountRef, CaptureLine, capture_post, entry_post

from .documents_helpers import payment_captured, pdf_text, supplier_new, tenant_bare

pytestmark = pytest.mark.usefixtures("catalog_english")

_n = itertools.count()


def this_month() -> dt.date:
    return timezone.localdate().replace(day=1)


def months_ago(n: int) -> dt.date:
    month = this_month()
    for _ in range(n):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


def book_a_month(tenant, supplier) -> tuple[str, str]:
    """Two sales, a return of the second, the first settled (for the creator and the supplier),
    a payout to each owner.

    Order 1: 2 × 100.00 (supply 60.00) + 8.00 shipping: paid 208.00, fee 10.00, commission 70.00.
    Order 2: 1 × 50.00 (supply 30.00): paid 50.00, fee 2.50, commission 17.50; returned.
    """
    one = payment_captured(tenant, 20800)
    capture_post(
        payment=one,
        lines=[CaptureLine(supplier.pk, 2, 6000, 10000, shipping_fen=800)],
        take_rate_bp=500,
    )
    two = payment_captured(tenant, 5000)
    capture_post(payment=two, lines=[CaptureLine(supplier.pk, 1, 3000, 5000)], take_rate_bp=500)
    entry_post(
        key=f"return:{tenant.pk}:{two.order_number}:1",
        lines=[
            (AccountRef.commission_pending(tenant.pk), 1750),
            (AccountRef.supplier_payable(supplier.pk), 3000),
            (AccountRef.platform_revenue(), 250),
            (AccountRef.refunds_payable("sandbox"), -5000),
        ],
        tenant=tenant,
        order_number=two.order_number,
    )
    entry_post(
        key=f"settle:{tenant.pk}:{one.order_number}",
        lines=[
            (AccountRef.commission_pending(tenant.pk), 7000),
            (AccountRef.commission_available(tenant.pk), -7000),
            (AccountRef.supplier_payable(supplier.pk), 12800),
            (AccountRef.supplier_available(supplier.pk), -12800),
        ],
        tenant=tenant,
        order_number=one.order_number,
    )
    entry_post(
        key=f"payout:creator:{tenant.pk}:1",
        lines=[
            (AccountRef.commission_available(tenant.pk), 5000),
            (AccountRef.clearing("sandbox"), -5000),
        ],
    )
    entry_post(
        key=f"payout:supplier:{supplier.pk}:1",
        lines=[
            (AccountRef.supplier_available(supplier.pk), 10000),
            (AccountRef.clearing("sandbox"), -10000),
        ],
    )
    return one.order_number, two.order_number


# --- figures ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_creator_figures_are_sums_of_her_ledger_postings_by_kind_of_entry():
    tenant, supplier = tenant_bare(), supplier_new()
    one, two = book_a_month(tenant, supplier)

    f = statement_figures(kind="creator", owner=tenant, month=this_month())

    assert f["orders"] == 2
    assert f["buyers_paid_fen"] == 25800
    assert f["platform_fee_fen"] == 1250
    assert f["opening_total_fen"] == 0
    assert f["totals"] == {
        "sales": 8750,
        "returns": -1750,
        "settlements": 0,  # pending → available: both accounts are hers
        "payouts": -5000,
        "other": 0,
    }
    assert f["movements"]["settlements"] == {
        "creator_commission_pending": -7000,
        "creator_commission_available": 7000,
    }
    assert f["closing"] == {"creator_commission_pending": 0, "creator_commission_available": 2000}
    assert f["closing_total_fen"] == 2000
    assert [(r["category"], r["order_number"], r["amount_fen"]) for r in f["rows"]] == [
        ("sales", one, 7000),
        ("sales", two, 1750),
        ("returns", two, -1750),
        ("settlements", one, 0),
        ("payouts", "", -5000),
    ]


@pytest.mark.django_db
def test_supplier_figures_are_its_payable_movements():
    tenant, supplier = tenant_bare(), supplier_new()
    book_a_month(tenant, supplier)

    f = statement_figures(kind="supplier", owner=supplier, month=this_month())

    assert f["orders"] == 2
    assert f["totals"] == {
        "sales": 15800,  # 2 × 60.00 + 8.00 shipping + 30.00
        "returns": -3000,
        "settlements": 0,
        "payouts": -10000,
        "other": 0,
    }
    assert f["movements"]["settlements"] == {
        "supplier_payable": -12800,
        "supplier_available": 12800,
    }
    assert f["closing"] == {"supplier_payable": 0, "supplier_available": 2800}
    assert f["closing_total_fen"] == 2800


@pytest.mark.django_db
def test_a_month_is_its_own_and_the_next_opens_with_the_last_close():
    tenant, supplier = tenant_bare(), supplier_new()
    book_a_month(tenant, supplier)

    last = statement_figures(kind="creator", owner=tenant, month=months_ago(1))
    assert last["rows"] == [] and last["closing_total_fen"] == 0
    # Any day of the month names the month.
    mid = statement_figures(kind="creator", owner=tenant, month=this_month().replace(day=15))
    assert mid["month"] == this_month().isoformat()
    assert mid["closing_total_fen"] == 2000


# --- rendering ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_statement_pdf_is_chinese_and_shows_the_figures(catalog_media):
    tenant, supplier = tenant_bare("小雨的育儿好物店"), supplier_new()
    book_a_month(tenant, supplier)
    statement = Statement.objects.create(kind="creator", tenant=tenant, month=this_month())

    statement = statement_render(statement=statement)

    pdf = statement.file.read()
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "店主月度对账单" in text
    assert "小雨的育儿好物店" in text
    assert f"{this_month():%Y}年{this_month():%m}月" in text
    for figure in ("258.00", "12.50", "87.50", "-17.50", "70.00", "-50.00", "20.00"):
        assert figure in text, figure
    assert statement.status == Statement.Status.READY
    # A shop's documents are stored under its schema, like its other files.
    assert statement.file.name.startswith(f"{tenant.schema_name}/documents/statements/")


@pytest.mark.django_db
def test_supplier_statement_pdf_names_the_supplier(catalog_media):
    tenant, supplier = tenant_bare(), supplier_new("杭州龙井茶业有限公司")
    book_a_month(tenant, supplier)
    statement = Statement.objects.create(kind="supplier", supplier=supplier, month=this_month())

    text = pdf_text(statement_render(statement=statement).file.read())

    assert "供应商月度对账单" in text
    assert "杭州龙井茶业有限公司" in text
    assert "158.00" in text and "128.00" in text and "28.00" in text
    assert statement_render(statement=statement).file.name.startswith("public/")


@pytest.mark.django_db
def test_the_pdf_lands_on_s3_in_moto_under_the_shops_prefix(catalog_s3):
    client, bucket = catalog_s3
    tenant, supplier = tenant_bare(), supplier_new()
    book_a_month(tenant, supplier)
    statement = Statement.objects.create(kind="creator", tenant=tenant, month=this_month())

    statement = statement_render(statement=statement)

    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [statement.file.name]
    assert re.fullmatch(
        rf"{tenant.schema_name}/documents/statements/creator-{tenant.pk}-"
        rf"{this_month():%Y-%m}-[0-9a-f]{{16}}\.pdf",
        keys[0],
    )
    body = client.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
    assert body.startswith(b"%PDF-")
    assert "店主月度对账单" in pdf_text(body)


@pytest.mark.django_db
def test_rendering_the_same_figures_again_stores_nothing_new(
    catalog_s3, django_capture_on_commit_callbacks
):
    client, bucket = catalog_s3
    tenant, supplier = tenant_bare(), supplier_new()
    book_a_month(tenant, supplier)
    statement = Statement.objects.create(kind="creator", tenant=tenant, month=this_month())

    with django_capture_on_commit_callbacks(execute=True):
        first = statement_render(statement=statement)
        again = statement_render(statement=statement)
        task_again = statement_render_task.apply(args=[statement.pk]).get()

    assert again.file.name == first.file.name == task_again
    assert again.version == 1
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [first.file.name]


@pytest.mark.django_db
def test_a_changed_figure_renders_a_new_version_and_drops_the_old_file(
    catalog_s3, django_capture_on_commit_callbacks
):
    client, bucket = catalog_s3
    tenant, supplier = tenant_bare(), supplier_new()
    book_a_month(tenant, supplier)
    statement = Statement.objects.create(kind="creator", tenant=tenant, month=this_month())
    with django_capture_on_commit_callbacks(execute=True):
        first = statement_render(statement=statement)
    entry_post(
        key=f"payout:creator:{tenant.pk}:2",
        lines=[
            (AccountRef.commission_available(tenant.pk), 1234),
            (AccountRef.clearing("sandbox"), -1234),
        ],
    )

    with django_capture_on_commit_callbacks(execute=True):
        second = statement_render(statement=statement)

    assert second.version == 2
    assert second.file.name != first.file.name
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [second.file.name]
    text = pdf_text(second.file.read())
    assert "-62.34" in text  # payouts: 50.00 + 12.34
    assert "7.66" in text  # closing: 20.00 − 12.34


# --- requests and the monthly job ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_is_made_once_per_owner_and_month_and_renders_after_commit(
    django_capture_on_commit_callbacks,
):
    tenant = tenant_bare()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = statement_request(kind="creator", owner=tenant, month=months_ago(1))
        again = statement_request(
            kind="creator", owner=tenant, month=months_ago(1) + dt.timedelta(3)
        )

    assert first.pk == again.pk
    assert first.month == months_ago(1)
    assert len(callbacks) == 2  # each request renders (unchanged figures: nothing new)
    assert Statement.objects.filter(tenant=tenant).count() == 1


@pytest.mark.django_db
def test_a_month_that_has_not_begun_is_refused():
    tenant = tenant_bare()
    next_month = (this_month() + dt.timedelta(days=32)).replace(day=1)
    with pytest.raises(ValidationError, match="not begun"):
        statement_request(kind="creator", owner=tenant, month=next_month)


@pytest.mark.django_db
def test_a_statement_cannot_belong_to_the_wrong_kind_of_owner():
    with pytest.raises(ValidationError):
        statement_request(kind="supplier", owner=tenant_bare(), month=this_month())


@pytest.mark.django_db
def test_the_monthly_job_requests_a_statement_for_every_owner_with_books(
    django_capture_on_commit_callbacks,
):
    tenant, supplier = tenant_bare(), supplier_new()
    book_a_month(tenant, supplier)
    idle = tenant_bare()

    with django_capture_on_commit_callbacks(execute=False):
        statements_monthly_task.apply(kwargs={"month": this_month().isoformat()}).get()
        statements_monthly_task.apply(kwargs={"month": this_month().isoformat()}).get()

    assert Statement.objects.filter(kind="creator", tenant=tenant, month=this_month()).count() == 1
    assert Statement.objects.filter(kind="supplier", supplier=supplier).count() == 1
    assert not Statement.objects.filter(tenant=idle).exists()


def test_the_beat_schedule_runs_the_monthly_job_on_the_first():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["statements-monthly"]
    assert entry["task"] == "billing.documents.tasks.statements_monthly_task"
    assert entry["schedule"].day_of_month == {1}


def test_a_real_worker_renders_the_requested_statement_once(committed_db, celery_worker):
    supplier = supplier_new("工人测试供应商")
    try:
        statement = statement_request(kind="supplier", owner=supplier, month=months_ago(1))
        # The request enqueued one render after its commit; this is a second, run after it.
        name = statement_render_task.delay(statement.pk).get(timeout=120)

        statement.refresh_from_db()
        assert statement.status == Statement.Status.READY
        assert statement.version == 1
        assert statement.file.name == name
        pdf = statement.file.read()
        assert pdf.startswith(b"%PDF-")
        assert "工人测试供应商" in pdf_text(pdf)
    finally:
        for s in Statement.objects.filter(supplier=supplier):
            if s.file:
                default_storage.delete(s.file.name)
            s.delete()
        # The supplier stays: catalog rows are never deleted (a database trigger refuses).


# --- signed links -------------------------------------------------------------------------------


def rendered(statement: Statement) -> Statement:
    return statement_render(statement=statement)


@pytest.fixture
def two_shops_statements(shops, catalog_media):
    a = rendered(Statement.objects.create(kind="creator", tenant=shops.a, month=months_ago(2)))
    b = rendered(Statement.objects.create(kind="creator", tenant=shops.b, month=months_ago(3)))
    return a, b


def swap_pk(link: str, pk: int) -> str:
    return re.sub(r"/files/statement/\d+/", f"/files/statement/{pk}/", link)


@pytest.mark.django_db
def test_a_signed_link_downloads_the_pdf(two_shops_statements, shop_client):
    a, _b = two_shops_statements
    link = document_link(document=a)

    response = shop_client("localhost").get(link)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


@pytest.mark.django_db
def test_a_link_for_one_statement_cannot_be_altered_to_fetch_another(
    two_shops_statements, shop_client
):
    a, b = two_shops_statements
    link_a, link_b = document_link(document=a), document_link(document=b)
    token_b = link_b.rstrip("/").rsplit("/", 1)[1]
    client = shop_client("localhost")

    assert client.get(swap_pk(link_a, b.pk)).status_code == 404
    assert (
        client.get(link_a.replace(link_a.rstrip("/").rsplit("/", 1)[1], token_b)).status_code == 404
    )
    assert client.get(link_a[:-3] + "xx/").status_code == 404
    # A statement's token is no invoice's token.
    assert client.get(link_a.replace("/statement/", "/invoice/")).status_code == 404


@pytest.mark.django_db
def test_an_expired_link_says_so(two_shops_statements, shop_client):
    a, _b = two_shops_statements
    link = document_link(document=a)

    with override_settings(VSTORE_DOCUMENT_LINK_MAX_AGE=-1):
        response = shop_client("localhost").get(link)

    assert response.status_code == 410
    assert "This download link has expired" in response.text


@pytest.mark.django_db
def test_a_shops_host_serves_only_its_own_documents(two_shops_statements, shop_client):
    a, _b = two_shops_statements
    link = document_link(document=a)

    assert shop_client("a.localhost").get(link).status_code == 200
    assert shop_client("b.localhost").get(link).status_code == 404


# --- where creators and suppliers see them ------------------------------------------------------


@pytest.fixture
def creator(shops, shop_client):
    """A logged-in Wagtail admin client for a shop: creator("a")."""

    def login(sub: str):
        with tenant_context(getattr(shops, sub)):
            user = get_user_model().objects.create_superuser(
                f"doc-creator{next(_n)}", password="pw-creator-12345"
            )
            client = shop_client(f"{sub}.localhost")
            client.force_login(user)
        connection.set_schema_to_public()
        return client

    return login


@pytest.mark.django_db
def test_a_creator_sees_only_her_own_statements_in_her_admin(two_shops_statements, creator):
    a, b = two_shops_statements

    page = creator("a").get("/admin/statements/")
    connection.set_schema_to_public()

    assert page.status_code == 200
    assert f"/files/statement/{a.pk}/" in page.text
    assert f"/files/statement/{b.pk}/" not in page.text
    assert f"{b.month:%Y-%m}" not in page.text
    link = re.search(rf'href="(/files/statement/{a.pk}/[^"]+)"', page.text)[1]
    assert creator("a").get(link.replace("&amp;", "&")).status_code == 200


@pytest.mark.django_db
def test_a_creator_asks_for_a_statement_from_her_admin(shops, creator):
    response = creator("b").post("/admin/statements/", {"month": f"{months_ago(4):%Y-%m}"})
    connection.set_schema_to_public()

    assert response.status_code == 302
    assert Statement.objects.filter(kind="creator", tenant=shops.b, month=months_ago(4)).exists()
    bad = creator("b").post("/admin/statements/", {"month": "2026-13"})
    assert bad.status_code == 400


@pytest.mark.django_db
def test_a_supplier_sees_only_its_own_statements_in_the_portal(shop_client, catalog_media):
    mine, theirs = supplier_new("我的供应商"), supplier_new("别人的供应商")
    own = rendered(Statement.objects.create(kind="supplier", supplier=mine, month=months_ago(1)))
    other = rendered(
        Statement.objects.create(kind="supplier", supplier=theirs, month=months_ago(1))
    )
    client = shop_client("localhost")
    client.force_login(mine.user)

    page = client.get("/supplier/statements/")

    assert page.status_code == 200
    assert f"/files/statement/{own.pk}/" in page.text
    assert f"/files/statement/{other.pk}/" not in page.text
    assert 'href="/supplier/statements/"' in page.text  # in the portal's menu
    asked = client.post("/supplier/statements/", {"month": f"{months_ago(5):%Y-%m}"})
    assert asked.status_code == 302
    assert Statement.objects.filter(supplier=mine, month=months_ago(5)).exists()
    assert not Statement.objects.filter(supplier=theirs, month=months_ago(5)).exists()


@pytest.mark.django_db
def test_staff_see_statements_and_invoices_read_only_in_the_admin(shop_client, catalog_media):
    supplier = supplier_new("管理后台可见供应商")
    rendered(Statement.objects.create(kind="supplier", supplier=supplier, month=months_ago(1)))
    staff = get_user_model().objects.create_superuser(f"doc-staff{next(_n)}", password="pw-staff")
    client = shop_client("localhost")
    client.force_login(staff)

    page = client.get("/admin/documents/statement/")

    assert page.status_code == 200
    assert "管理后台可见供应商" in page.text
    assert client.get("/admin/documents/invoice/").status_code == 200
    assert client.get("/admin/documents/statement/add/").status_code == 403
