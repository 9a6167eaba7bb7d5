"""Roles inside a shop: what the owner, an editor, customer service and a user without a role
may open in the shop's admin, and that a member of one shop is nobody in another."""

from __future__ import annotations

import importlib
import itertools
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from core.contact import Contact
from storefront.team import services
from storefront.team.roles import EDITOR, OWNER, ROLES, SERVICE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]

PASSWORD = "pw-team-member-12345"
_n = itertools.count()

# Each shop-admin page and who may open it; everyone else is sent back to the dashboard.
PAGES = {
    "/admin/orders/": {"owner", "service"},
    "/admin/reviews/": {"owner", "service"},
    "/admin/goods/": {"owner"},
    "/admin/listings/": {"owner"},
    "/admin/earnings/": {"owner"},
    "/admin/statements/": {"owner"},
    "/admin/shop/domains/": {"owner"},
    "/admin/team/": {"owner"},
}


@pytest.fixture
def member(shops, shop_client):
    """member("a", "service"): a client signed in to shop a's admin as a new member in that
    role ("none": a user of the shop with no role at all)."""

    def make(sub: str, role_key: str):
        shop = getattr(shops, sub)
        with tenant_context(shop):
            login = f"1390000{next(_n):04d}"
            if role_key == "none":
                user = get_user_model().objects.create_user(login, password=PASSWORD)
            else:
                role = next(r for r in ROLES if r.key == role_key)
                user = services.member_invite(contact=Contact(mobile=login), role=role).user
                user.set_password(PASSWORD)
                user.save()
            client = shop_client(f"{sub}.localhost")
            client.force_login(user)
        connection.set_schema_to_public()
        client.user = user
        return client

    return make


def test_every_shop_has_the_role_groups_with_their_grants(shops):
    migration = importlib.import_module("storefront.migrations.0004_shop_roles")
    for schema in ("template_shop", shops.a.schema_name):
        with schema_context(schema):
            for role in ROLES:
                group = Group.objects.get(name=role.group)
                granted = set(group.permissions.values_list("codename", flat=True))
                assert "access_admin" in granted
                assert set(role.perms) <= granted, role.key
                # What the migration made is what the code says each role may do.
                assert set(migration.GRANTS[role.group]) == set(role.perms)
            # Editors (Wagtail's own group) and customer service never see orders or money.
            for role in (EDITOR, SERVICE):
                granted = set(
                    Group.objects.get(name=role.group).permissions.values_list(
                        "codename", flat=True
                    )
                )
                assert not granted & {"view_money", "manage_team", "manage_shop"}
            assert "view_orders" not in set(
                Group.objects.get(name=EDITOR.group).permissions.values_list("codename", flat=True)
            )


@pytest.mark.parametrize("role_key", ["owner", "editor", "service"])
def test_each_role_opens_exactly_its_pages_and_sees_only_their_menu_items(member, role_key):
    client = member("a", role_key)

    for url, allowed in PAGES.items():
        response = client.get(url)
        if role_key in allowed:
            assert response.status_code == 200, (role_key, url)
        else:
            # Wagtail answers a PermissionDenied in its admin with a redirect to the dashboard.
            assert response.status_code == 302, (role_key, url)
            assert response["Location"] == "/admin/", (role_key, url)

    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    for url, allowed in PAGES.items():
        # The sidebar lists each menu item's URL; a hidden item's URL is nowhere on the page.
        assert (f'"{url}"' in dashboard.text) == (role_key in allowed), (role_key, url)


def test_a_user_of_the_shop_without_a_role_cannot_enter_its_admin(member):
    client = member("a", "none")

    for url in ["/admin/", *PAGES]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url


def test_customer_service_sees_the_buyer_but_not_the_supply_price(shops, member):
    from storefront.orders.services import Want, order_place

    from .storefront_helpers import BUYER, listed

    _listing, item = listed(shops.a, price=8800, stock=5)
    with tenant_context(shops.a):
        order = order_place(wants=[Want(item.pk, 1)], buyer=BUYER)
    connection.set_schema_to_public()
    supply = item.sku.supply_price_fen

    service = member("a", "service").get(f"/admin/orders/{order.number}/")
    owner = member("a", "owner").get(f"/admin/orders/{order.number}/")
    editor = member("a", "editor").get(f"/admin/orders/{order.number}/")

    assert service.status_code == 200
    assert BUYER.recipient_phone in service.text and BUYER.street in service.text
    assert "Supply price" not in service.text
    assert "Supply price" in owner.text and owner.context["show_money"]
    assert editor.status_code == 302
    assert BUYER.recipient_phone not in editor.text
    assert supply > 0


def test_an_editor_cannot_hide_a_review_nor_download_statements(shops, member):
    from billing.documents.models import Statement
    from storefront.models import Review

    editor = member("a", "editor")
    with tenant_context(shops.a):
        before = list(Review.objects.values_list("pk", "is_hidden"))
    connection.set_schema_to_public()
    statements = Statement.objects.filter(tenant=shops.a).count()

    hide = editor.post("/admin/reviews/", {"review": "1", "hidden": "1"})
    ask = editor.post("/admin/statements/", {"month": "2026-10"})

    assert hide.status_code == 302 and hide["Location"] == "/admin/"
    assert ask.status_code == 302 and ask["Location"] == "/admin/"
    with tenant_context(shops.a):
        assert list(Review.objects.values_list("pk", "is_hidden")) == before
    connection.set_schema_to_public()
    assert Statement.objects.filter(tenant=shops.a).count() == statements


def test_a_member_of_one_shop_cannot_sign_in_to_another(shops, member, shop_client):
    mine = member("a", "owner")
    login = mine.user.get_username()

    # Her password on her own shop's login page works…
    own = shop_client("a.localhost").post(
        "/admin/login/", {"username": login, "password": PASSWORD}
    )
    assert own.status_code == 302 and own["Location"] == "/admin/"
    connection.set_schema_to_public()
    # …and means nothing on another shop's: its users are other rows in another schema.
    other = shop_client("b.localhost")
    refused = other.post("/admin/login/", {"username": login, "password": PASSWORD})
    assert refused.status_code == 200
    assert other.get("/admin/orders/")["Location"].startswith("/admin/login/")
    # Her session cookie replayed on shop b finds no session there either.
    replay = shop_client("b.localhost")
    replay.cookies = mine.cookies
    answer = replay.get("/admin/")
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")


def test_only_an_owner_reaches_the_team_and_a_forged_invite_changes_nothing(shops, member):
    service = member("a", "service")
    login = "13912340000"

    answer = service.post("/admin/team/", {"contact": login, "role": OWNER.key})

    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    with tenant_context(shops.a):
        assert not get_user_model().objects.filter(username=login).exists()


def test_each_shop_admin_page_is_titled_by_what_it_shows(member):
    # A browser tab or history entry reading " - Shop A" names nothing.
    client = member("a", "owner")

    for url in PAGES:
        title = re.search(r"<title>(.*?)</title>", client.get(url).text, re.S)
        assert title is not None, url
        page_name, _sep, shop = title.group(1).strip().rpartition(" - ")
        assert page_name.strip() and shop == "Shop A", (url, title.group(1))
