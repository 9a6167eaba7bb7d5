"""The fans (buyers) of one shop (tenant schema; registered through storefront/models.py)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Fan(models.Model):
    """A buyer of this shop, recognised by mobile number or e-mail (per shop, never shared)."""

    mobile = models.CharField(_("mobile number"), max_length=11, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    name = models.CharField(_("name"), max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
            models.CheckConstraint(
                condition=~Q(mobile="") | ~Q(email=""), name="storefront_fan_has_contact"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.mobile or self.email
