"""Writes for statements and invoices: request, render (PDF through billing.documents.pdf), link.

Rendering is idempotent: the figures (or an invoice's content) are hashed with the layout
version, and the stored file's name carries the hash. Same hash → nothing is rendered or
stored again; a changed figure → a new file under a new name, and the old one is deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from billing.selectors import payment_captured_for_order
from catalog.models import Supplier
from tenants.models import Tenant

from .models import Invoice, Statement
from .pdf import pdf_render
from .selectors import month_first, statement_figures
from .templatetags.documents_tags import fen_yuan

if TYPE_CHECKING:
    from django.db.models import Model

__all__ = [
    "InvoiceLine",
    "document_from_token",
    "document_link",
    "invoice_email",
    "invoice_render",
    "invoice_request",
    "statement_figures",
    "statement_render",
    "statement_request",
]

# The document's language: statements and 发票 are Chinese documents whatever the UI language.
DOCUMENT_LANGUAGE = "zh-hans"
INVOICE_LAYOUT_VERSION = 1
# VAT rates a Chinese 发票 can carry, in basis points (13%, 9%, 6%, 3% small-scale, 1%, 5%, 0).
TAX_RATES_BP = (0, 100, 300, 500, 600, 900, 1300)
# 纳税人识别号: 15 (old tax registration), 18 (统一社会信用代码) or 20 characters, digits and
# upper-case letters.
TAXPAYER_ID_RE = re.compile(r"[0-9A-Z]{15}|[0-9A-Z]{18}|[0-9A-Z]{20}")


# --- statements ---------------------------------------------------------------------------------


def _owner_kwargs(kind: str, owner: Tenant | Supplier) -> dict[str, Any]:
    if kind == Statement.Kind.CREATOR and isinstance(owner, Tenant):
        return {"tenant": owner, "supplier": None}
    if kind == Statement.Kind.SUPPLIER and isinstance(owner, Supplier):
        return {"tenant": None, "supplier": owner}
    raise ValidationError(
        _("A %(kind)s statement cannot belong to %(owner)s.") % {"kind": kind, "owner": owner},
        code="statement_owner",
    )


def statement_request(*, kind: str, owner: Tenant | Supplier, month: dt.date) -> Statement:
    """The owner's statement for MONTH (made if new), rendered by a task after commit.

    A month that has not begun yet is refused; the current month may be requested (a
    statement to date) and is brought up to date by each new request.
    """
    from .tasks import statement_render_task

    month = month_first(month)
    if month > timezone.localdate().replace(day=1):
        raise ValidationError(_("That month has not begun yet."), code="statement_future")
    owner_kwargs = _owner_kwargs(kind, owner)
    statement = Statement.objects.filter(kind=kind, month=month, **owner_kwargs).first()
    if statement is None:
        try:
            with transaction.atomic():
                statement = Statement.objects.create(kind=kind, month=month, **owner_kwargs)
        except IntegrityError:
            # A concurrent request made it first: use theirs.
            statement = Statement.objects.get(kind=kind, month=month, **owner_kwargs)
    statement_id = statement.pk
    transaction.on_commit(lambda: statement_render_task.delay(statement_id))
    return statement


def _content_hash(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _file_schema(tenant: Tenant | None) -> AbstractContextManager[Any]:
    # A shop's documents live under its schema's prefix, like every other file of the shop.
    return schema_context(tenant.schema_name) if tenant is not None else nullcontext()


def _file_replace(document: Model, name: str, pdf: bytes, schema_of: Tenant | None) -> None:
    """Store PDF as DOCUMENT.file under NAME (in the field's upload_to) and delete the file it
    replaces. NAME carries the content's hash: a file already there under it (left by a render
    whose transaction rolled back) has this content and is used as it is."""
    field = document.file  # type: ignore[attr-defined]
    old = field.name
    with _file_schema(schema_of):
        target = field.field.generate_filename(document, name)
        if field.storage.exists(target):
            field.name = target
        else:
            field.save(name, ContentFile(pdf), save=False)
    if old and old != field.name:
        # The row will point at the new file; an old one left behind would only cost storage.
        transaction.on_commit(lambda: field.storage.delete(old))


def statement_render(*, statement: Statement) -> Statement:
    """Render STATEMENT from the ledger's current figures, unless they are the ones rendered.

    Locks the row, so two workers given the same statement render it once.
    """
    with transaction.atomic():
        statement = (
            Statement.objects.select_for_update(of=("self",))
            .select_related("tenant", "supplier")
            .get(pk=statement.pk)
        )
        owner: Tenant | Supplier = statement.tenant or statement.supplier  # type: ignore[assignment]
        figures = statement_figures(kind=statement.kind, owner=owner, month=statement.month)
        digest = _content_hash(figures)
        if digest == statement.content_hash and statement.file:
            return statement
        with translation.override(DOCUMENT_LANGUAGE):
            html = render_to_string(
                "documents/statement.html",
                {"statement": statement, "f": figures, "generated_at": timezone.localtime()},
            )
        pdf = pdf_render(html=html)
        owner_tag = statement.tenant_id or statement.supplier_id
        name = f"{statement.kind}-{owner_tag}-{statement.month:%Y-%m}-{digest[:16]}.pdf"
        _file_replace(statement, name, pdf, statement.tenant)
        statement.figures = figures
        statement.content_hash = digest
        statement.version += 1
        statement.status = Statement.Status.READY
        statement.rendered_at = timezone.now()
        statement.save()
    return statement


# --- invoices -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceLine:
    """One line of a 发票: what was sold, how many, at what tax-inclusive unit price (fen)."""

    name: str
    quantity: int
    unit_price_fen: int
    tax_rate_bp: int = 1300  # 13%: goods; 9% for some farm produce and books, 6% services

    @property
    def amount_fen(self) -> int:
        return self.quantity * self.unit_price_fen

    @property
    def tax_fen(self) -> int:
        """The VAT inside the tax-inclusive amount: amount × r / (1 + r), half up to the fen."""
        denominator = 10_000 + self.tax_rate_bp
        return (2 * self.amount_fen * self.tax_rate_bp + denominator) // (2 * denominator)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def taxpayer_id_clean(value: str) -> str:
    """纳税人识别号 normalised (spaces removed, upper case) and checked: 15, 18 or 20 characters
    of digits and letters. Raises ValidationError otherwise."""
    cleaned = re.sub(r"\s+", "", value or "").upper()
    if cleaned and not TAXPAYER_ID_RE.fullmatch(cleaned):
        raise ValidationError(
            _(
                "A taxpayer ID has 15, 18 or 20 characters, digits and capital letters only "
                "(you entered %(n)d)."
            )
            % {"n": len(cleaned)},
            code="taxpayer_id",
        )
    return cleaned


def _invoice_lines_clean(lines: Sequence[InvoiceLine]) -> list[dict[str, Any]]:
    if not lines:
        raise ValidationError({"lines": _("An invoice needs at least one line.")}, code="lines")
    cleaned = []
    for n, line in enumerate(lines, start=1):
        problem = None
        if not isinstance(line, InvoiceLine):
            problem = _("not an invoice line")
        elif not line.name or not line.name.strip() or len(line.name) > 100:
            problem = _("the name must have 1 to 100 characters")
        elif not _is_int(line.quantity) or line.quantity < 1:
            problem = _("the quantity must be a whole number of at least 1")
        elif not _is_int(line.unit_price_fen) or line.unit_price_fen < 0:
            problem = _("the unit price must be a whole number of fen, not negative")
        elif line.tax_rate_bp not in TAX_RATES_BP:
            problem = _("the tax rate must be one of 0%, 1%, 3%, 5%, 6%, 9% or 13%")
        if problem:
            raise ValidationError(
                {"lines": _("Line %(n)d: %(problem)s.") % {"n": n, "problem": problem}},
                code="lines",
            )
        cleaned.append(
            {
                "name": line.name.strip(),
                "quantity": line.quantity,
                "unit_price_fen": line.unit_price_fen,
                "amount_fen": line.amount_fen,
                "tax_rate_bp": line.tax_rate_bp,
                "tax_fen": line.tax_fen,
            }
        )
    return cleaned


def invoice_request(
    *,
    tenant: Tenant,
    order_number: str,
    title: str,
    taxpayer_id: str,
    email: str,
    lines: Sequence[InvoiceLine],
) -> Invoice:
    """Record a buyer's 发票 request for a paid order and render it after commit.

    TITLE (抬头) is a person's or a company's name; TAXPAYER_ID (纳税人识别号) is required for
    a company and empty for a personal title. LINES are the order's lines, shipping as a line
    of its own; their total may not exceed what the buyer paid less refunds. One invoice per
    order: the same request again returns it, a different one is refused.
    Raises ValidationError naming the field at fault.
    """
    from .tasks import invoice_render_task

    errors: dict[str, Any] = {}
    title = (title or "").strip()
    if not title or len(title) > 100:
        errors["title"] = _("Enter the invoice title (a name or a company's name), at most 100.")
    try:
        taxpayer_id = taxpayer_id_clean(taxpayer_id)
    except ValidationError as exc:
        errors["taxpayer_id"] = exc.messages
    else:
        # Since 2017 a company's 发票 must carry its taxpayer ID (国家税务总局公告2017年第16号).
        if not taxpayer_id and "公司" in title:
            errors["taxpayer_id"] = _("A company's invoice needs its taxpayer ID.")
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = _("Enter the e-mail address the invoice should go to.")
    try:
        cleaned = _invoice_lines_clean(lines)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        cleaned = []
    if errors:
        raise ValidationError(errors)

    total = sum(line["amount_fen"] for line in cleaned)
    tax = sum(line["tax_fen"] for line in cleaned)
    payment = payment_captured_for_order(tenant=tenant, order_number=order_number)
    if payment is None:
        raise ValidationError(
            {"order_number": _("Order %(number)s is not paid.") % {"number": order_number}},
            code="order_unpaid",
        )
    paid = payment.amount - payment.refunded_amount
    if total > paid:
        raise ValidationError(
            {
                "lines": _(
                    "The lines total %(total)s yuan but the order's payment, less refunds, is "
                    "%(paid)s yuan."
                )
                % {"total": fen_yuan(total), "paid": fen_yuan(paid)}
            },
            code="invoice_total",
        )
    wanted = {
        "title": title,
        "taxpayer_id": taxpayer_id,
        "email": email,
        "lines": cleaned,
        "total_fen": total,
        "tax_fen": tax,
    }
    invoice = Invoice.objects.filter(tenant=tenant, order_number=order_number).first()
    if invoice is None:
        try:
            with transaction.atomic():
                invoice = Invoice.objects.create(tenant=tenant, order_number=order_number, **wanted)
        except IntegrityError:
            invoice = Invoice.objects.get(tenant=tenant, order_number=order_number)
    if any(getattr(invoice, field) != value for field, value in wanted.items()):
        raise ValidationError(
            _("An invoice was already requested for order %(number)s.") % {"number": order_number},
            code="invoice_exists",
        )
    invoice_id = invoice.pk
    transaction.on_commit(lambda: invoice_render_task.delay(invoice_id))
    return invoice


def invoice_render(*, invoice: Invoice) -> Invoice:
    """Render INVOICE's PDF (once for the same content) and mark it issued."""
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .get(pk=invoice.pk)
        )
        content = {
            "layout": INVOICE_LAYOUT_VERSION,
            "shop": invoice.tenant.name,
            "order_number": invoice.order_number,
            "title": invoice.title,
            "taxpayer_id": invoice.taxpayer_id,
            "lines": invoice.lines,
            "total_fen": invoice.total_fen,
            "tax_fen": invoice.tax_fen,
        }
        digest = _content_hash(content)
        if digest == invoice.content_hash and invoice.file:
            return invoice
        issued_at = invoice.issued_at or timezone.now()
        with translation.override(DOCUMENT_LANGUAGE):
            html = render_to_string(
                "documents/invoice.html",
                {"invoice": invoice, "issued_at": timezone.localtime(issued_at)},
            )
        pdf = pdf_render(html=html)
        name = f"invoice-{invoice.order_number}-{digest[:16]}.pdf"
        _file_replace(invoice, name, pdf, invoice.tenant)
        invoice.content_hash = digest
        invoice.status = Invoice.Status.ISSUED
        invoice.issued_at = issued_at
        invoice.save()
    return invoice


def invoice_email(*, invoice: Invoice) -> bool:
    """Mail an issued INVOICE's PDF to the address the buyer gave, once; True if sent now.

    The row is claimed with a conditional UPDATE first, so two workers send it once; a send
    that fails releases the claim and raises, for the task to retry.
    """
    if invoice.status != Invoice.Status.ISSUED or not invoice.file:
        return False
    claimed = Invoice.objects.filter(pk=invoice.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    try:
        with translation.override(DOCUMENT_LANGUAGE):
            subject = _("Your invoice for order %(number)s") % {"number": invoice.order_number}
            body = render_to_string("documents/invoice_email.txt", {"invoice": invoice})
        message = EmailMessage(subject, body, to=[invoice.email])
        with invoice.file.open("rb") as pdf:
            message.attach(f"invoice-{invoice.order_number}.pdf", pdf.read(), "application/pdf")
        message.send()
    except Exception:
        Invoice.objects.filter(pk=invoice.pk).update(emailed_at=None)
        raise
    return True


# --- signed links -------------------------------------------------------------------------------

LINK_KINDS: dict[type, str] = {Statement: "statement", Invoice: "invoice"}


def _signer(kind: str) -> signing.TimestampSigner:
    # One salt per kind: a statement's token is no invoice's token, even for the same id.
    return signing.TimestampSigner(salt=f"vstore.documents.{kind}")


def document_link(*, document: Statement | Invoice) -> str:
    """A download path for DOCUMENT, valid for VSTORE_DOCUMENT_LINK_MAX_AGE seconds.

    The path names the document and carries a signed token of the same id; the view serves the
    file only when both agree, so changing the id in the path (or the token) gets nothing.
    """
    kind = LINK_KINDS[type(document)]
    token = _signer(kind).sign(f"{kind}:{document.pk}")
    return reverse("documents:download", kwargs={"kind": kind, "pk": document.pk, "token": token})


class LinkExpired(Exception):
    """A correctly signed link whose time is up."""


def document_from_token(*, kind: str, pk: int, token: str) -> Statement | Invoice | None:
    """The document a link names, or None for a bad or altered link; raises LinkExpired."""
    if kind not in ("statement", "invoice"):
        return None
    try:
        value = _signer(kind).unsign(token, max_age=settings.VSTORE_DOCUMENT_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except signing.BadSignature:
        return None
    if value != f"{kind}:{pk}":
        return None
    if kind == "statement":
        return Statement.objects.select_related("tenant", "supplier").filter(pk=pk).first()
    return Invoice.objects.select_related("tenant").filter(pk=pk).first()
