"""The buyer's review form.

Every form mixes in core.forms.SafeFormMixin: forged characters and impossible numbers are form
errors, never a 500 and never a row.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import SafeFormMixin

RATING_ERROR = _("Give a rating from 1 to 5 stars.")


class ReviewForm(SafeFormMixin, forms.Form):
    """A review of one order line; photos come from request.FILES and are checked by the service."""

    line = forms.IntegerField(
        label=_("Item"),
        min_value=1,
        error_messages={
            key: _("There is no such item in this order.")
            for key in ("required", "invalid", "min_value", "max_value")
        },
    )
    rating = forms.IntegerField(
        label=_("Rating"),
        min_value=1,
        max_value=5,
        error_messages={
            key: RATING_ERROR for key in ("required", "invalid", "min_value", "max_value")
        },
    )
    text = forms.CharField(
        label=_("Your review"), max_length=500, required=False, widget=forms.Textarea
    )
