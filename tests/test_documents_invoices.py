"""发票 requests for orders: every field validated with a clear error, one invoice per order, a
Chinese PDF with the buyer's title, taxpayer ID, lines and tax, behind a signed link."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from billing.documents.models import Invoice
from billing.documents.services import (
    InvoiceLine,
    document_link,
    invoice_render,
    invoice_request,
    taxpayer_id_clean,
)
from billing.models import Payment

from .documents_helpers import payment_captured, pdf_text, tenant_bare

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_english")]

COMPANY_ID = "91330106MA2B3C4D5E"  # 18 characters: 统一社会信用代码
LINES = [
    InvoiceLine("有机龙井茶 250g", 2, 9990),
    InvoiceLine("青瓷茶杯 两只装", 1, 4500),
    InvoiceLine("运费", 1, 800, tax_rate_bp=900),
]  # 199.80 + 45.00 + 8.00 = 252.80


def paid_order(tenant=None, amount: int = 25280) -> tuple:
    tenant = tenant or tenant_bare("茶语小铺")
    return tenant, payment_captured(tenant, amount).order_number


def request(**overrides) -> Invoice:
    if "tenant" not in overrides or "order_number" not in overrides:
        overrides["tenant"], overrides["order_number"] = paid_order()
    fields = {
        "title": "杭州某某科技有限公司",
        "taxpayer_id": COMPANY_ID,
        "email": "finance@example.com",
        "lines": LINES,
    }
    fields.update(overrides)
    return invoice_request(**fields)


def errors_of(**overrides) -> dict[str, list[str]]:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        request(**overrides)
    return caught.value.message_dict


def test_a_company_invoice_is_recorded_with_a_snapshot_of_the_lines_and_renders_after_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice = request()

    assert invoice.status == Invoice.Status.REQUESTED
    assert invoice.total_fen == 25280
    # VAT inside tax-inclusive amounts: 19980×13/113 = 2298.58 → 2299; 4500×13/113 = 517.70 →
    # 518; 800×9/109 = 66.06 → 66.
    assert [line["tax_fen"] for line in invoice.lines] == [2299, 518, 66]
    assert invoice.tax_fen == 2883
    assert invoice.lines[0] == {
        "name": "有机龙井茶 250g",
        "quantity": 2,
        "unit_price_fen": 9990,
        "amount_fen": 19980,
        "tax_rate_bp": 1300,
        "tax_fen": 2299,
    }
    assert len(callbacks) == 1


def test_a_personal_title_needs_no_taxpayer_id():
    invoice = request(title="王小明", taxpayer_id="")
    assert invoice.personal


@pytest.mark.parametrize(
    "taxpayer_id",
    [
        "91330106MA2B3C4D5",
        "91330106MA2B3C4D5E1",
        "9133010-MA2B3C4D5E",
        "913301 06MA2B3C4D5E!",
        "税号",
    ],
)
def test_a_malformed_taxpayer_id_is_refused_with_a_clear_error(taxpayer_id):
    errors = errors_of(taxpayer_id=taxpayer_id)
    assert list(errors) == ["taxpayer_id"]
    assert "15, 18 or 20 characters" in errors["taxpayer_id"][0]


def test_a_company_title_needs_its_taxpayer_id():
    errors = errors_of(title="杭州某某科技有限公司", taxpayer_id="")
    assert errors == {"taxpayer_id": ["A company's invoice needs its taxpayer ID."]}


def test_taxpayer_ids_of_15_18_and_20_characters_are_accepted_and_normalised():
    assert taxpayer_id_clean("110108123456789") == "110108123456789"
    assert taxpayer_id_clean(" 91330106ma2b3c4d5e ") == COMPANY_ID
    assert taxpayer_id_clean("1101081234567890123X") == "1101081234567890123X"


def test_every_bad_field_is_named_at_once():
    errors = errors_of(title="  ", email="not-an-address", taxpayer_id="123")
    assert set(errors) == {"title", "email", "taxpayer_id"}
    assert "invoice title" in errors["title"][0]
    assert "e-mail" in errors["email"][0]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (InvoiceLine("", 1, 100), "name"),
        (InvoiceLine("茶", 0, 100), "quantity"),
        (InvoiceLine("茶", 1, -1), "unit price"),
        (InvoiceLine("茶", 1, 100, tax_rate_bp=1700), "tax rate"),
        (InvoiceLine("茶", 1, 99.5), "unit price"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_line_is_refused_naming_the_line(line, message):
    errors = errors_of(lines=[LINES[0], line])
    assert list(errors) == ["lines"]
    assert errors["lines"][0].startswith("Line 2:")
    assert message in errors["lines"][0]


def test_an_invoice_needs_lines():
    assert "at least one line" in errors_of(lines=[])["lines"][0]


def test_an_unpaid_order_gets_no_invoice():
    tenant = tenant_bare()
    errors = errors_of(tenant=tenant, order_number="2611221530AB12CD")
    assert errors == {"order_number": ["Order 2611221530AB12CD is not paid."]}


def test_the_lines_may_not_exceed_what_the_buyer_paid_less_refunds():
    tenant, number = paid_order(amount=25280)
    Payment.objects.filter(tenant=tenant, order_number=number).update(
        status=Payment.Status.PARTIALLY_REFUNDED, refunded_amount=4500
    )
    errors = errors_of(tenant=tenant, order_number=number)
    assert "252.80" in errors["lines"][0] and "207.80" in errors["lines"][0]
    # Without the returned cups the invoice is right.
    invoice = request(tenant=tenant, order_number=number, lines=[LINES[0], LINES[2]])
    assert invoice.total_fen == 20780


def test_one_invoice_per_order_the_same_request_again_returns_it():
    tenant, number = paid_order()
    first = request(tenant=tenant, order_number=number)
    again = request(tenant=tenant, order_number=number, taxpayer_id=COMPANY_ID.lower())

    assert again.pk == first.pk
    with translation.override("en"), pytest.raises(ValidationError, match="already requested"):
        request(tenant=tenant, order_number=number, title="另一家公司")
    assert Invoice.objects.filter(tenant=tenant, order_number=number).count() == 1


def test_the_invoice_pdf_shows_title_taxpayer_id_lines_and_tax(catalog_media):
    invoice = request()

    invoice = invoice_render(invoice=invoice)

    pdf = invoice.file.read()
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    for expected in (
        "电子发票",
        "杭州某某科技有限公司",
        COMPANY_ID,
        "茶语小铺",
        invoice.order_number,
        "有机龙井茶 250g",
        "199.80",
        "13%",
        "9%",
        "252.80",
        "28.83",
    ):
        assert expected in text, expected
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.file.name.startswith(f"{invoice.tenant.schema_name}/documents/invoices/")
    again = invoice_render(invoice=invoice)
    assert again.file.name == invoice.file.name


def test_a_personal_invoice_says_personal(catalog_media):
    invoice = invoice_render(invoice=request(title="王小明", taxpayer_id=""))
    text = pdf_text(invoice.file.read())
    assert "王小明" in text and "个人" in text


def test_the_buyer_downloads_the_invoice_on_the_shops_host_only(shops, shop_client, catalog_media):
    tenant, number = paid_order(tenant=shops.a)
    invoice = invoice_render(invoice=request(tenant=tenant, order_number=number))
    link = document_link(document=invoice)

    response = shop_client("a.localhost").get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert shop_client("b.localhost").get(link).status_code == 404
    other = invoice_render(
        invoice=request(tenant=shops.a, order_number=paid_order(tenant=shops.a)[1])
    )
    assert (
        shop_client("a.localhost").get(link.replace(f"/{invoice.pk}/", f"/{other.pk}/")).status_code
        == 404
    )


def test_the_issued_invoice_is_mailed_to_the_buyer_once(catalog_media, mailoutbox):
    from billing.documents.tasks import invoice_render_task

    invoice = request(email="buyer@example.com")

    name = invoice_render_task.apply(args=[invoice.pk]).get()
    invoice_render_task.apply(args=[invoice.pk]).get()

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["buyer@example.com"]
    assert invoice.order_number in message.subject
    assert "杭州某某科技有限公司" in message.body and "252.80" in message.body
    (filename, content, mimetype) = message.attachments[0]
    assert filename == f"invoice-{invoice.order_number}.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF-")
    invoice.refresh_from_db()
    assert invoice.file.name == name and invoice.emailed_at is not None
