"""After the sale: return and invoice request forms.

Every form mixes in core.forms.SafeFormMixin: forged characters and impossible numbers are form
errors, never a 500 and never a row.
"""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import SafeFormMixin
from storefront.orders.services import MAX_QUANTITY

RETURN_COUNT_ERROR = _("Enter how many to return as a whole number.")


class ReturnRequestForm(SafeFormMixin, forms.Form):
    """How many of each order line to send back (fields return_<line id>) and why, optionally.

    Only the counts are checked here; what may still be returned is billing's rule.
    """

    reason = forms.CharField(label=_("Reason (optional)"), max_length=300, required=False)

    def __init__(self, *args: object, lines: Sequence[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for line_id, title in lines:
            self.fields[f"return_{line_id}"] = forms.IntegerField(
                label=title,
                min_value=0,
                max_value=MAX_QUANTITY,
                required=False,
                error_messages={"invalid": RETURN_COUNT_ERROR, "min_value": RETURN_COUNT_ERROR},
            )
        self.fields_make_safe()

    def clean(self) -> dict:
        data = super().clean() or {}
        if not self.errors and not self.items():
            raise forms.ValidationError(_("Choose what to return."), code="nothing")
        return data

    def items(self) -> list[tuple[int, int]]:
        """(line id, quantity) for each line with a count above zero."""
        return [
            (int(name.removeprefix("return_")), quantity)
            for name, quantity in self.cleaned_data.items()
            if name.startswith("return_") and quantity
        ]


class InvoiceRequestForm(SafeFormMixin, forms.Form):
    """A 发票 request; what a title and a taxpayer ID must be is billing's rule."""

    title = forms.CharField(label=_("Invoice title"), max_length=100)
    taxpayer_id = forms.CharField(label=_("Taxpayer ID"), max_length=30, required=False)
    email = forms.EmailField(label=_("E-mail for the invoice"), max_length=254)
