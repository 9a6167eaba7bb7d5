from __future__ import annotations

from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "Content"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save
        from wagtail.models import Page, PageViewRestriction, Site
        from wagtail.signals import page_published, page_unpublished, post_page_move

        from core import shop_cache
        from storefront.models import Listing, ListingItem, Review, ReviewPhoto

        from .models import ShopSettings

        # What the shop data cache (shop_cache.py) shows: a change starts a new generation.
        for model in (
            Listing,
            ListingItem,
            Review,
            ReviewPhoto,
            ShopSettings,
            Site,
            PageViewRestriction,
        ):
            post_save.connect(
                shop_cache.bump_on_signal,
                sender=model,
                dispatch_uid=f"shopdata-{model.__name__}-save",
            )
            post_delete.connect(
                shop_cache.bump_on_signal,
                sender=model,
                dispatch_uid=f"shopdata-{model.__name__}-delete",
            )
        for signal in (page_published, page_unpublished, post_page_move):
            signal.connect(shop_cache.bump_on_signal, dispatch_uid=f"shopdata-{signal!r}")

        def page_deleted(sender, instance, **kwargs) -> None:
            if isinstance(instance, Page):
                shop_cache.bump()

        post_delete.connect(page_deleted, weak=False, dispatch_uid="shopdata-page-delete")
