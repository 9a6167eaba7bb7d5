"""The month picker for asking for a statement on demand."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import SafeFormMixin


class StatementMonthForm(SafeFormMixin, forms.Form):
    month = forms.CharField(
        label=_("Month"),
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month"}),
        help_text=_("For example 2026-10. The current month gives a statement to date."),
    )

    def clean_month(self) -> dt.date:
        value = self.cleaned_data["month"].strip()
        try:
            month = dt.date.fromisoformat(f"{value}-01")
        except ValueError:
            raise forms.ValidationError(
                _("Enter a month as YYYY-MM."), code="month_format"
            ) from None
        if month > timezone.localdate().replace(day=1):
            raise forms.ValidationError(_("That month has not begun yet."), code="month_future")
        return month
