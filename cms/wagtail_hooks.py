"""The shop admin's additions for content: the listing chooser that product cards use."""

from __future__ import annotations

from wagtail import hooks

from .choosers import listing_chooser_viewset


@hooks.register("register_admin_viewset")
def register_listing_chooser():
    return listing_chooser_viewset
