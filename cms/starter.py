"""The starter site every new shop gets, and making it the creator's own.

Callers run these inside a shop's tenant context. `starter_site_ensure` runs once, on the
template schema; new shops are clones of it, so `shop_personalise` only updates a few rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from wagtail.models import Page, Site, Task, Workflow

from .models import AboutPage, ArticlePage, HomePage, ShopIndexPage, ShopSettings

# theme_choices is read through tenants.shop_site (tenants, below cms, cannot import cms).
from .themes import DEFAULT_THEME, THEMES, theme_choices  # noqa: F401

# The starter pages are data written once into the template schema, in the language of the
# creators' readers: Chinese only (they are the creator's to rewrite, not UI strings to translate).
HOME_INTRO = "<p>欢迎光临！这里是我的小店。</p>"
SAMPLE_ARTICLE = [
    {
        "type": "paragraph",
        "value": "<p>这是你的第一篇文章。在后台编辑它，写下你的故事，再插入商品卡片，"
        "读者就能边看边买。</p>",
    },
    {"type": "quote", "value": "好物分享，从真实体验开始。"},
]
# Wagtail's migrations name the default review workflow and its task in English, and the page
# editor shows them to the creator ("提交给Moderators approval"). In a shop the approver is the
# owner. (Group names stay: storefront.team.roles finds its role groups by name.)
WAGTAIL_DEFAULT_NAMES: dict[type[Workflow] | type[Task], dict[str, str]] = {
    Workflow: {"Moderators approval": "店主审核"},
    Task: {"Moderators approval": "店主审核"},
}
# Earlier templates mixed English into the starter pages; pages still holding exactly that text
# get the Chinese one (with a new revision, so the editor shows it too).
_OLD_STARTER_TEXT = [
    ("intro", "<p>欢迎光临！这里是我的小店。</p><p>Welcome to my shop!</p>", HOME_INTRO),
    ("title", "关于我 About me", "关于我"),
    ("title", "小店 Shop", "小店"),
    ("summary", "第一篇文章 · My first article", "我的第一篇文章"),
]


@transaction.atomic
def starter_site_ensure() -> HomePage:
    """Give the current schema its starter pages and settings. Idempotent."""
    home = HomePage.objects.first()
    if home is None:
        home = Page.get_first_root_node().add_child(
            instance=HomePage(
                title="我的小店",
                # "home" stays taken by Wagtail's welcome page until it is deleted below.
                slug="shop-home",
                intro=HOME_INTRO,
            )
        )
    site = Site.objects.filter(is_default_site=True).first() or Site(is_default_site=True)
    site.root_page = home
    site.hostname = "template.invalid"
    site.port = 80
    site.site_name = home.title
    site.save()
    # Wagtail's first migration leaves a plain "Welcome" page at depth 2; a shop has no use for it.
    welcome_type = ContentType.objects.get_for_model(Page)
    Page.objects.filter(depth=2, content_type=welcome_type).exclude(pk=home.pk).delete()

    if not AboutPage.objects.exists():
        home.add_child(
            instance=AboutPage(
                title="关于我",
                slug="about",
                body="<p>介绍一下你自己：你是谁，为什么推荐这些好物。</p>",
            )
        )
    if not ShopIndexPage.objects.exists():
        home.add_child(
            instance=ShopIndexPage(title="小店", slug="shop", intro="<p>我亲自挑选的好物。</p>")
        )
    if not ArticlePage.objects.exists():
        home.add_child(
            instance=ArticlePage(
                title="欢迎来到我的小店",
                slug="welcome",
                summary="我的第一篇文章",
                body=SAMPLE_ARTICLE,
            )
        )
    ShopSettings.objects.get_or_create(site=site, defaults={"theme": DEFAULT_THEME})
    for model, names in WAGTAIL_DEFAULT_NAMES.items():
        for old, new in names.items():
            model.objects.filter(name=old).update(name=new)
    _starter_text_refresh()
    return home


def _starter_text_refresh() -> None:
    """Replace the mixed-language starter text of earlier templates, where it is unchanged."""
    for page in Page.objects.filter(depth__in=[2, 3]).specific():
        changed = False
        for field, old, new in _OLD_STARTER_TEXT:
            if getattr(page, field, None) == old:
                setattr(page, field, new)
                changed = True
        if isinstance(page, ArticlePage) and any(
            block.block_type == "paragraph" and "This is your first article" in block.value.source
            for block in page.body
        ):
            page.body = SAMPLE_ARTICLE
            changed = True
        if changed:
            page.draft_title = page.title
            page.save_revision().publish()


@transaction.atomic
def shop_personalise(
    *,
    site_name: str,
    hostname: str,
    port: int,
    theme: str = "",
    admin_username: str = "",
    admin_email: str = "",
    admin_password_hash: str = "",
) -> Site:
    """Make a freshly cloned schema the creator's: host, name, theme and her admin login.

    Plain UPDATEs: the cloned pages need new titles, not new revisions and their signals.
    """
    site = Site.objects.select_for_update().get(is_default_site=True)
    Site.objects.filter(pk=site.pk).update(hostname=hostname, port=port, site_name=site_name)
    Page.objects.filter(pk=site.root_page_id).update(title=site_name, draft_title=site_name)
    if theme:
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r}")
        ShopSettings.objects.filter(site_id=site.pk).update(theme=theme)
    if admin_username:
        get_user_model().objects.create(
            username=admin_username,
            email=admin_email,
            password=admin_password_hash,
            is_staff=True,
            # The creator owns everything in her own schema, and nothing outside it.
            is_superuser=True,
        )
    Site.clear_site_root_paths_cache()
    site.refresh_from_db()
    return site


def site_host_set(*, hostname: str) -> None:
    """Point the current schema's Site, and so every absolute link, at HOSTNAME."""
    Site.objects.filter(is_default_site=True).update(hostname=hostname)
    # update() skips Site's signals, which would have dropped Wagtail's cached site roots.
    Site.clear_site_root_paths_cache()


@transaction.atomic
def article_cards_add(
    listings: Sequence, *, slug: str = "welcome", heading: str = "我的好物推荐"
) -> ArticlePage | None:
    """Put LISTINGS into the shop's article SLUG: a card for the first, a grid for the rest.

    For the demo seed and for a creator's first listings. Publishes a new revision, so the
    article's history shows the change. Returns None when the shop has no such article.
    Idempotent: listings already on a card in the article are not added twice.
    """
    article = ArticlePage.objects.filter(slug=slug).first()
    if article is None or not listings:
        return None
    article = article.specific
    shown: set[int] = set()
    for block in article.body:
        if block.block_type == "product_card" and block.value["listing"] is not None:
            shown.add(block.value["listing"].pk)
        elif block.block_type == "product_grid":
            shown.update(item.pk for item in block.value["listings"] if item is not None)
    new = [listing for listing in listings if listing.pk not in shown]
    if not new:
        return article
    body = list(article.body.raw_data)
    body.append(
        {
            "type": "product_card",
            "value": {"listing": new[0].pk, "note": "我自己用了半年，真心推荐。"},
        }
    )
    if len(new) > 1:
        body.append(
            {
                "type": "product_grid",
                "value": {"heading": heading, "listings": [listing.pk for listing in new[1:]]},
            }
        )
    article.body = body
    article.save_revision().publish()
    return article
