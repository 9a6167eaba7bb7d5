"""Thin, idempotent tasks: render one document by id; make last month's statements on the 1st."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=3, acks_late=True)
def statement_render_task(self, statement_id: int) -> str:
    """Render a statement (nothing new if its figures are the ones already rendered)."""
    from .models import Statement
    from .services import statement_render

    statement = Statement.objects.filter(pk=statement_id).first()
    if statement is None:
        return "gone"
    try:
        statement = statement_render(statement=statement)
    except OSError as exc:  # storage unreachable: try again later
        raise self.retry(exc=exc, countdown=60 * (self.request.retries + 1)) from exc
    return str(statement.file.name)


@shared_task(bind=True, max_retries=3, acks_late=True)
def invoice_render_task(self, invoice_id: int) -> str:
    """Render and issue an invoice (once for the same content), then mail it to the buyer."""
    from .models import Invoice
    from .services import invoice_email, invoice_render

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None:
        return "gone"
    try:
        invoice = invoice_render(invoice=invoice)
        invoice_email(invoice=invoice)
    except OSError as exc:  # storage or mail server unreachable (smtplib errors are OSErrors)
        raise self.retry(exc=exc, countdown=60 * (self.request.retries + 1)) from exc
    return str(invoice.file.name)


@shared_task
def statements_monthly_task(month: str | None = None) -> int:
    """Request every creator's and supplier's statement for MONTH (ISO date; default: last
    month). Celery beat runs it on the 1st; running it twice renders nothing twice."""
    from catalog.models import Supplier
    from tenants.selectors import shops

    from .models import Statement
    from .selectors import statement_owners_active
    from .services import statement_request

    if month:
        first = dt.date.fromisoformat(month).replace(day=1)
    else:
        first = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    tenant_ids, supplier_ids = statement_owners_active(month=first)
    count = 0
    # Live shops only (suspended ones included: their books still close); never the platform,
    # the template or a pooled schema, whatever rows the ledger holds.
    for tenant in shops().filter(pk__in=tenant_ids):
        statement_request(kind=Statement.Kind.CREATOR, owner=tenant, month=first)
        count += 1
    for supplier in Supplier.objects.filter(pk__in=supplier_ids).order_by("pk"):
        statement_request(kind=Statement.Kind.SUPPLIER, owner=supplier, month=first)
        count += 1
    logger.info("statements for %s requested: %d", first.isoformat(), count)
    return count
