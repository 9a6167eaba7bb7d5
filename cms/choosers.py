"""The admin's listing chooser: a modal that picks one of the shop's listings for a card.

Listing is the storefront's model and is not a snippet, so it gets its own ChooserViewSet
(registered in cms.wagtail_hooks); the StreamField block is derived from it in cms.blocks.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.ui.tables import BooleanColumn, DateColumn
from wagtail.admin.views.generic.chooser import ChooseResultsView, ChooseView
from wagtail.admin.viewsets.chooser import ChooserViewSet

from core.forms import SafeFormMixin


class ListingSearchForm(SafeFormMixin, BaseFilterForm):
    """Search by title with a plain ILIKE: Listing is not in Wagtail's search index."""

    q = forms.CharField(
        label=_("Search term"),
        widget=forms.TextInput(attrs={"placeholder": _("Search")}),
        required=False,
    )

    def filter(self, objects):
        objects = super().filter(objects)
        query = self.cleaned_data.get("q")
        if query:
            objects = objects.filter(title__icontains=query)
            self.is_searching = True
            self.search_query = query
        return objects


class ListingChooseMixin:
    filter_form_class = ListingSearchForm
    ordering = ["-is_active", "-created_at", "-id"]

    @property
    def columns(self):
        return [
            *super().columns,
            BooleanColumn("is_active", label=_("On sale")),
            DateColumn("created_at", label=_("Added")),
        ]


class ListingChooseView(ListingChooseMixin, ChooseView):
    pass


class ListingChooseResultsView(ListingChooseMixin, ChooseResultsView):
    pass


class ListingChooserViewSet(ChooserViewSet):
    model = "storefront.Listing"
    icon = "tag"
    choose_one_text = _("Choose a product")
    choose_another_text = _("Choose another product")
    edit_item_text = _("Edit this product")
    choose_view_class = ListingChooseView
    choose_results_view_class = ListingChooseResultsView
    per_page = 20
    # Only blocks use this chooser; a ForeignKey to Listing elsewhere keeps its own widget.
    register_widget = False


listing_chooser_viewset = ListingChooserViewSet("listing_chooser", url_prefix="listing-chooser")
