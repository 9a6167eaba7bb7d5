"""Earnings pages: a creator's in her shop's Wagtail admin, a supplier's in the supplier portal.
Each sees only their own figures, whatever the URL says."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context

from billing.ledger import AccountRef, entry_post
from billing.payouts import selectors
from billing.payouts.models import Payout, PayoutBatch
from billing.payouts.testing import commission_settle, supplier_settle
from catalog.templatetags.catalog_tags import yuan
from catalog.testing import PASSWORD, staff_make, supplier_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_english")]

_n = itertools.count()


@pytest.fixture
def creator(shops, shop_client):
    """creator("a", superuser=True): a logged-in client on that shop's Wagtail admin."""

    class PublicAfterClient(shop_client):
        def request(self, **request):
            try:
                return super().request(**request)
            finally:
                connection.set_schema_to_public()

    def login(sub: str, *, superuser: bool = True):
        shop = getattr(shops, sub)
        with tenant_context(shop):
            users = get_user_model().objects
            name = f"earner{next(_n)}"
            if superuser:
                user = users.create_superuser(name, password=PASSWORD)
            else:
                from django.contrib.auth.models import Permission

                user = users.create_user(name, password=PASSWORD)
                user.user_permissions.add(Permission.objects.get(codename="access_admin"))
            client = PublicAfterClient(f"{sub}.localhost")
            client.force_login(user)
        return client

    return login


def pending_credit(tenant_id: int, fen: int) -> None:
    entry_post(
        key=f"test-pending:{tenant_id}:{next(_n)}:{fen}",
        lines=[
            (AccountRef.clearing("sandbox"), fen),
            (AccountRef.commission_pending(tenant_id), -fen),
        ],
    )


def failed_payouts(*, tenant=None, supplier=None, n: int, fen: int) -> None:
    """N payouts that reached an end state without money moving (rows for the list pages)."""
    kind = "creator" if tenant else "supplier"
    batch = PayoutBatch.objects.create(
        kind=kind, minimum_fen=1, total_fen=n * fen, payout_count=n, provider="sandbox"
    )
    Payout.objects.bulk_create(
        Payout(
            batch=batch,
            kind=kind,
            tenant=tenant,
            supplier=supplier,
            amount_fen=fen,
            payout_no=f"POT{next(_n):06d}{i:04d}",
            provider="sandbox",
            status=Payout.Status.FAILED,
        )
        for i in range(n)
    )


def test_a_creator_sees_her_own_figures_and_never_another_shops(shops, creator):
    commission_settle(tenant_id=shops.a.pk, fen=12_345)
    pending_credit(shops.a.pk, 4_321)
    commission_settle(tenant_id=shops.b.pk, fen=7_777_701)
    pending_credit(shops.b.pk, 6_666_602)
    mine = selectors.creator_earnings(tenant_id=shops.a.pk)
    theirs = selectors.creator_earnings(tenant_id=shops.b.pk)

    page = creator("a").get("/admin/earnings/")
    # No id in the URL chooses the shop: a guessed parameter changes nothing.
    guessed = creator("a").get(f"/admin/earnings/?tenant={shops.b.pk}&tenant_id={shops.b.pk}")

    assert page.status_code == 200
    for html in (page.text, guessed.text):
        assert yuan(mine.available_fen) in html
        assert yuan(mine.pending_fen) in html
        assert yuan(theirs.available_fen) not in html
        assert yuan(theirs.pending_fen) not in html
    other = creator("b").get("/admin/earnings/").text
    assert yuan(theirs.available_fen) in other
    assert yuan(mine.available_fen) not in other


def test_earnings_show_an_empty_state_and_are_for_the_shop_owner_only(shops, creator):
    owner = creator("b")
    page = owner.get("/admin/earnings/")
    assert page.status_code == 200
    if not selectors.creator_payouts(tenant_id=shops.b.pk).exists():
        assert "No payouts yet" in page.text
    assert "Earnings" in owner.get("/admin/").text  # the menu item

    editor = creator("b", superuser=False)
    refused = editor.get("/admin/earnings/")
    # Wagtail answers a PermissionDenied in its admin with a redirect to the dashboard.
    assert refused.status_code == 302 and refused["Location"] == "/admin/"
    assert "Earnings" not in editor.get("/admin/").text


def test_a_creators_payout_list_is_paginated_and_her_own(shops, creator):
    failed_payouts(tenant=shops.a, n=23, fen=10_101)
    failed_payouts(tenant=shops.b, n=1, fen=20_202)
    client = creator("a")

    first = client.get("/admin/earnings/").text
    second = client.get("/admin/earnings/?page=2").text

    assert first.count(yuan(10_101)) == 20
    assert "Page 1 of 2" in first and "?page=2" in first
    assert second.count(yuan(10_101)) == 3
    assert yuan(20_202) not in first + second


@pytest.fixture
def supplier_client(shop_client):
    def login(supplier):
        client = shop_client("localhost")
        assert client.login(username=supplier.user.username, password=PASSWORD)
        return client

    return login


def test_a_supplier_sees_its_own_payables_and_payouts_only(supplier_client):
    mine, other = supplier_make(), supplier_make()
    supplier_settle(supplier_id=mine.pk, fen=54_321)
    supplier_settle(supplier_id=other.pk, fen=8_765_401)
    entry_post(
        key=f"test-supplier-pending:{mine.pk}",
        lines=[
            (AccountRef.clearing("sandbox"), 3_003),
            (AccountRef.supplier_payable(mine.pk), -3_003),
        ],
    )
    failed_payouts(supplier=mine, n=2, fen=11_111)
    failed_payouts(supplier=other, n=1, fen=22_222)

    page = supplier_client(mine).get(f"/supplier/earnings/?supplier={other.pk}")

    assert page.status_code == 200
    assert yuan(54_321) in page.text and yuan(3_003) in page.text
    assert page.text.count(yuan(11_111)) == 2
    assert yuan(8_765_401) not in page.text and yuan(22_222) not in page.text
    empty = supplier_client(other).get("/supplier/earnings/").text
    assert yuan(8_765_401) in empty and yuan(54_321) not in empty


def test_a_new_supplier_sees_an_empty_state(supplier_client):
    page = supplier_client(supplier_make()).get("/supplier/earnings/").text

    assert "No payouts yet" in page
    assert page.count(yuan(0)) >= 3


def test_the_earnings_page_needs_a_supplier_login(shop_client):
    staff_make()
    response = shop_client("localhost").get("/supplier/earnings/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
