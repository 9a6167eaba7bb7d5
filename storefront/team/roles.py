"""What each role of a shop's team may do, and the permission every shop-admin page checks.

- owner: everything, money (earnings, payouts, statements, supply prices and margins), goods
  and listings, domains and settings, the team. Owners are also superusers of their own shop's
  schema (users live per schema, so that reaches nothing outside the shop): Wagtail's own
  settings, users and workflows stay theirs without a grant for each.
- editor: content only — pages, images, documents (Wagtail's own Editors group; publishing goes
  through the owner's approval, Wagtail's default workflow). No orders, buyers or money; listings
  only through the product-card chooser, which shows titles.
- customer service: orders (buyers' contact details and addresses), returns, reviews. No money:
  no earnings, payouts, statements, supply prices or margins.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Permission names the shop admin checks ("storefront.<codename>" on Listing's Meta).
VIEW_ORDERS = "storefront.view_orders"
MANAGE_REVIEWS = "storefront.manage_reviews"
VIEW_MONEY = "storefront.view_money"
MANAGE_TEAM = "storefront.manage_team"
MANAGE_SHOP = "storefront.manage_shop"
MANAGE_LISTINGS = "storefront.change_listing"


@dataclass(frozen=True)
class Role:
    key: str
    group: str  # the auth Group's name in every shop schema (made by migration 0004)
    label: str | Promise
    summary: str | Promise
    perms: tuple[str, ...]  # codenames granted by the group, beyond wagtailadmin.access_admin


OWNER = Role(
    "owner",
    "Shop owners",
    _("Owner"),
    _("Everything: money, goods, domains and the team."),
    (
        "view_orders",
        "manage_reviews",
        "view_money",
        "manage_team",
        "manage_shop",
        "add_listing",
        "change_listing",
        "delete_listing",
        "view_listing",
    ),
)
EDITOR = Role(
    "editor",
    "Editors",
    _("Editor"),
    _("Articles, pages, images and documents. No orders, buyers or money."),
    (),
)
SERVICE = Role(
    "service",
    "Customer service",
    _("Customer service"),
    _("Orders, returns and reviews. No money."),
    ("view_orders", "manage_reviews"),
)
ROLES: tuple[Role, ...] = (OWNER, EDITOR, SERVICE)
ROLE_GROUPS = tuple(r.group for r in ROLES)


def role_get(key: str) -> Role | None:
    return next((r for r in ROLES if r.key == key), None)


def role_choices() -> list[tuple[str, str]]:
    return [(r.key, f"{r.label} — {r.summary}") for r in ROLES]
