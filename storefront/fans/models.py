"""The fans (buyers) of one shop and the creator's CRM around them (tenant schema; registered
through storefront/models.py): tags, notes, the audit of exports, and fans' requests about
their own data (PIPL art. 45 and 47)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class FanTag(models.Model):
    """A label the creator puts on fans (宝妈, 老客, VIP …), for filtering and bulk actions."""

    name = models.CharField(_("tag"), max_length=20, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("fan tag")
        verbose_name_plural = _("fan tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Fan(models.Model):
    """A buyer of this shop, recognised by mobile number or e-mail (per shop, never shared), or
    inside WeChat by the openid the official account's silent authorisation gave her
    (storefront.wechat: set only once she proved her number or e-mail in a session with it).

    A fan whose deletion request was carried out keeps her row (her orders must be kept, by
    law, and point at it) with every personal field emptied and `erased_at` set.
    """

    mobile = models.CharField(_("mobile number"), max_length=11, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    name = models.CharField(_("name"), max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    tags = models.ManyToManyField(FanTag, blank=True, related_name="fans")
    erased_at = models.DateTimeField(null=True, blank=True)
    # Her openid under the platform's official account, and the unionid WeChat adds when that
    # account is bound to an Open Platform account (usually empty). Emptied when she is erased.
    wechat_openid = models.CharField(_("WeChat openid"), max_length=128, blank=True)
    wechat_unionid = models.CharField(_("WeChat unionid"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("fan")
        verbose_name_plural = _("fans")
        constraints = [
            models.UniqueConstraint(
                fields=["mobile"], condition=~Q(mobile=""), name="storefront_fan_unique_mobile"
            ),
            models.UniqueConstraint(
                fields=["email"], condition=~Q(email=""), name="storefront_fan_unique_email"
            ),
            models.UniqueConstraint(
                fields=["wechat_openid"],
                condition=~Q(wechat_openid=""),
                name="storefront_fan_unique_wechat_openid",
            ),
            models.UniqueConstraint(
                fields=["wechat_unionid"],
                condition=~Q(wechat_unionid=""),
                name="storefront_fan_unique_wechat_unionid",
            ),
            models.CheckConstraint(
                condition=~Q(mobile="")
                | ~Q(email="")
                | ~Q(wechat_openid="")
                | Q(erased_at__isnull=False),
                name="storefront_fan_has_contact",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.mobile or self.email

    @property
    def deletion_pending(self) -> FanDataRequest | None:
        """Her deletion request still waiting (the account page shows its due date)."""
        return (
            self.data_requests.filter(
                kind=FanDataRequest.Kind.DELETE, state=FanDataRequest.State.PENDING
            )
            .order_by("-requested_at")
            .first()
        )


class FanNote(models.Model):
    """The creator's (or her team's) note on a fan. Deleted with her personal data."""

    fan = models.ForeignKey(Fan, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField(_("note"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("fan note")
        verbose_name_plural = _("fan notes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text[:30]


class FanExport(models.Model):
    """One export of the fan list: who took it, when, for what stated purpose, which fans.

    An export copies personal information out of the shop (PIPL art. 51 asks a handler to
    control and record such access); the rows are never edited.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Kept as text too: the audit must still say who after the account is removed.
    username = models.CharField(max_length=150)
    purpose = models.CharField(_("purpose"), max_length=200)
    segment = models.CharField(_("segment"), max_length=20, blank=True)
    query = models.CharField(_("search"), max_length=60, blank=True)
    tag = models.CharField(_("tag"), max_length=20, blank=True)
    file_format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    with_contacts = models.BooleanField(default=False)
    row_count = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("fan export")
        verbose_name_plural = _("fan exports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.username}: {self.row_count}"


class FanDataRequest(models.Model):
    """A fan's request about her own data in this shop: a download (done at once, recorded) or
    the deletion of her personal information (done by `due_at` at the latest, automatically)."""

    class Kind(models.TextChoices):
        DOWNLOAD = "download", _("download of her data")
        DELETE = "delete", _("deletion of her personal information")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        DONE = "done", _("done")
        WITHDRAWN = "withdrawn", _("withdrawn")

    fan = models.ForeignKey(Fan, on_delete=models.PROTECT, related_name="data_requests")
    kind = models.CharField(_("request"), max_length=10, choices=Kind.choices)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    due_at = models.DateTimeField(_("due"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("fan data request")
        verbose_name_plural = _("fan data requests")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["state", "due_at"], name="storefront_fanreq_due")]
        constraints = [
            # One open deletion per fan: asking twice changes nothing.
            models.UniqueConstraint(
                fields=["fan"],
                condition=Q(kind="delete", state="pending"),
                name="storefront_fanreq_one_pending_delete",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.fan_id} {self.state}"
