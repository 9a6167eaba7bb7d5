"""Helpers for the statement and invoice tests: owners, captured payments, PDF text."""

from __future__ import annotations

import subprocess
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.models import Payment
from billing.services import out_trade_no_new
from catalog.models import Supplier
from tenants.models import Tenant


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as poppler's pdftotext extracts it (what a reader can search and copy)."""
    done = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout.decode()


def pdf_fonts(pdf: bytes) -> list[list[str]]:
    """pdffonts' table rows, split on whitespace (name, type…, emb, sub, uni, object, id)."""
    done = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True, timeout=60)
    return [line.split() for line in done.stdout.decode().splitlines()[2:] if line.strip()]


def tenant_bare(name: str = "测试小店") -> Tenant:
    """A shop row without a schema: enough for the ledger and statements (public schema), and
    its figures start from nothing whatever other tests posted for the session's shops."""
    tag = uuid.uuid4().hex[:10]
    return Tenant.objects.create(schema_name=f"docs_{tag}", name=name)


def supplier_new(name: str = "茶园供应链有限公司") -> Supplier:
    tag = uuid.uuid4().hex[:12]
    user = get_user_model().objects.create_user(username=f"docsup-{tag}", password=None)
    return Supplier.objects.create(
        user=user,
        company_name=name,
        credit_code=tag.upper().ljust(18, "0"),
        contact_name="张三",
        contact_phone="13800000000",
    )


def payment_captured(tenant: Tenant, amount: int, order_number: str | None = None) -> Payment:
    return Payment.objects.create(
        tenant=tenant,
        order_number=order_number or f"O{uuid.uuid4().hex[:10].upper()}",
        amount=amount,
        provider="sandbox",
        out_trade_no=out_trade_no_new(),
        status=Payment.Status.CAPTURED,
        expires_at=timezone.now() + timedelta(minutes=30),
        captured_at=timezone.now(),
    )
