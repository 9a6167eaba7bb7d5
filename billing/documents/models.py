"""Monthly statements and buyers' invoices (发票): public-schema rows and their PDFs.

Both are public-schema rows (billing lives there) that name a shop by FK to the tenant and an
order by its public number, never by FK into a shop's schema. The PDF is stored through the
project's default storage; a creator's documents under her shop's schema prefix, a supplier's
under the public one.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Statement(models.Model):
    class Kind(models.TextChoices):
        CREATOR = "creator", _("creator")
        SUPPLIER = "supplier", _("supplier")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("being prepared")
        READY = "ready", _("ready")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # The owner: a creator's shop or a supplier, by kind (checked below).
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supplier = models.ForeignKey(
        "catalog.Supplier", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The first day of the month the statement covers (in settings.TIME_ZONE).
    month = models.DateField(_("month"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    file = models.FileField(_("file"), upload_to="documents/statements/", blank=True)
    # The figures last rendered and their hash: a render with the same hash is skipped, so a
    # retried or repeated task makes no second file; changed figures make a new version.
    figures = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(auto_now_add=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-month", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "tenant", "supplier", "month"],
                name="statement_once_per_owner_month",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="creator", tenant__isnull=False, supplier__isnull=True)
                    | Q(kind="supplier", tenant__isnull=True, supplier__isnull=False)
                ),
                name="statement_owner_by_kind",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="statement_month_first_day"),
        ]

    def __str__(self) -> str:
        owner = self.tenant_id if self.kind == self.Kind.CREATOR else self.supplier_id
        return f"{self.kind} {owner} {self.month:%Y-%m}"


class Invoice(models.Model):
    """A buyer's request for a 发票 for one order, and the PDF once issued."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        ISSUED = "issued", _("issued")

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    order_number = models.CharField(_("order number"), max_length=64)
    # 抬头: a person's name or a company's registered name.
    title = models.CharField(_("invoice title"), max_length=100)
    # 纳税人识别号 (统一社会信用代码 for companies); empty for a personal title.
    taxpayer_id = models.CharField(_("taxpayer ID"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"))
    # What was sold, as the order had it when the invoice was requested (a snapshot: the shop's
    # listings may change later): [{name, quantity, unit_price_fen, amount_fen, tax_rate_bp}].
    lines = models.JSONField(default=list)
    total_fen = models.PositiveBigIntegerField(_("total (fen)"))
    # The VAT included in total_fen (prices are tax-inclusive, as Chinese retail prices are).
    tax_fen = models.PositiveBigIntegerField(_("tax (fen)"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    file = models.FileField(_("file"), upload_to="documents/invoices/", blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    # When the PDF was mailed to `email` (once; a failed send clears it for the retry).
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "order_number"], name="invoice_once_per_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.order_number}"

    @property
    def personal(self) -> bool:
        return not self.taxpayer_id
