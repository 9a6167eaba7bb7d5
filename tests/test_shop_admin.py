"""Staff run shops from the console; creators bring their own domains."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django_tenants.utils import schema_exists, tenant_context

from tenants import services
from tenants.models import Domain, DomainClaim, ShopEvent, Tenant
from tenants.provisioning import ShopOwner, shop_provision

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(shop_client):
    user = get_user_model().objects.create_user("ops", password="pw-ops-123456", is_staff=True)
    client = shop_client("localhost")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def shop(shops):
    owner = ShopOwner(username="owner", email="owner@example.com", password_hash="!")
    return shop_provision(name="Tea House", subdomain="teahouse", owner=owner)


@pytest.fixture
def owner_client(shop, shop_client):
    client = shop_client("teahouse.localhost")
    with tenant_context(shop):
        client.force_login(get_user_model().objects.get(username="owner"))
    return client


def test_shop_list_searches_and_pages(staff, shop):
    # The list reads only public rows, so these shops need no schema behind them.
    Tenant.objects.bulk_create(
        Tenant(schema_name=f"shop_paged{n}", name=f"Paged {n}") for n in range(26)
    )

    first = staff.get("/console/shops/", {"q": "paged"})
    second = staff.get("/console/shops/", {"q": "paged", "page": 2})
    found = staff.get("/console/shops/", {"q": "teahouse"})

    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 1
    assert [s.name for s in found.context["page"].object_list] == ["Tea House"]
    assert "teahouse.localhost" in found.text


def test_shop_list_has_an_empty_state(staff, shops):
    response = staff.get("/console/shops/", {"q": "no-such-shop-anywhere"})

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []
    assert 'class="notice"' in response.text


def test_shop_list_hides_the_template_and_the_pool(staff, shops):
    from tenants.provisioning import pool_refill

    pool_refill(size=1)
    listed = {s.schema_name for s in staff.get("/console/shops/").context["page"].object_list}

    assert "template_shop" not in listed
    assert not any(name.startswith("pool_") for name in listed)


def test_suspended_shop_shows_a_notice_and_closes_its_admin(staff, shop, owner_client, shop_client):
    assert owner_client.get("/admin/").status_code == 200

    staff.post(f"/console/shops/{shop.pk}/suspend/", {"reason": "Unpaid fines"})

    visitor = shop_client("teahouse.localhost").get("/")
    assert visitor.status_code == 403
    assert "Tea House" in visitor.text
    assert owner_client.get("/admin/").status_code == 403
    shop.refresh_from_db()
    assert shop.state == Tenant.State.SUSPENDED
    assert shop.events.filter(action="suspended", actor=staff.user).exists()

    staff.post(f"/console/shops/{shop.pk}/resume/")

    assert shop_client("teahouse.localhost").get("/").status_code == 200
    assert owner_client.get("/admin/").status_code == 200


def test_suspension_needs_a_reason(staff, shop):
    response = staff.post(f"/console/shops/{shop.pk}/suspend/", {"reason": " "}, follow=True)

    shop.refresh_from_db()
    assert shop.state == Tenant.State.ACTIVE
    assert "Say why" in response.text or "说明" in response.text


def test_deleting_needs_the_exact_name_and_exports_first(staff, shop):
    wrong = staff.post(f"/console/shops/{shop.pk}/delete/", {"confirm_name": "tea house"})

    assert wrong.status_code == 200
    assert schema_exists("shop_teahouse")

    done = staff.post(f"/console/shops/{shop.pk}/delete/", {"confirm_name": "Tea House"})

    assert done.status_code == 302
    assert not schema_exists("shop_teahouse")
    assert not Tenant.objects.filter(pk=shop.pk).exists()
    assert not Domain.objects.filter(domain="teahouse.localhost").exists()
    deleted = ShopEvent.objects.get(schema_name="shop_teahouse", action="deleted")
    dump = json.loads(default_storage.open(deleted.detail["export"]).read())
    titles = {row["fields"].get("title") for row in dump if row["model"] == "wagtailcore.page"}
    assert "Tea House" in titles
    assert deleted.detail["export"].startswith("public/exports/shop_teahouse-")


def test_delete_page_asks_for_confirmation(staff, shop):
    page = staff.get(f"/console/shops/{shop.pk}/delete/")

    assert page.status_code == 200
    assert 'name="confirm_name"' in page.text
    assert schema_exists("shop_teahouse")


def test_export_can_be_downloaded_by_staff_only(staff, shop, shop_client):
    staff.post(f"/console/shops/{shop.pk}/export/")
    event = ShopEvent.objects.get(tenant=shop, action="exported")

    download = staff.get(f"/console/shops/exports/{event.pk}/")
    anonymous = shop_client("localhost").get(f"/console/shops/exports/{event.pk}/")

    assert download.status_code == 200
    assert b"wagtailcore.page" in b"".join(download.streaming_content)
    assert anonymous.status_code == 302


class PublishedTxt:
    """A TxtResolver serving the records a test publishes: stands in for the world's DNS."""

    records: dict[str, list[str]] = {}

    def txt_records(self, name: str) -> list[str]:
        return self.records.get(name, [])


def test_custom_domain_routes_only_after_its_txt_record_is_verified(
    shop, owner_client, shop_client, settings
):
    settings.VSTORE_TXT_RESOLVER = "tests.test_shop_admin.PublishedTxt"
    owner_client.post("/admin/shop/domains/", {"action": "add", "domain": "Tea.Example.com"})
    claim = DomainClaim.objects.get(tenant=shop)
    assert claim.domain == "tea.example.com"
    assert shop_client("tea.example.com").get("/").status_code == 404

    owner_client.post("/admin/shop/domains/", {"action": "verify", "claim": claim.pk})
    claim.refresh_from_db()
    assert claim.status == DomainClaim.Status.PENDING  # no record published yet

    PublishedTxt.records = {claim.txt_name: ["other=1", claim.txt_value]}
    owner_client.post("/admin/shop/domains/", {"action": "verify", "claim": claim.pk})
    claim.refresh_from_db()
    assert claim.status == DomainClaim.Status.VERIFIED

    both = [shop_client(h).get("/") for h in ("tea.example.com", "teahouse.localhost")]
    assert [r.status_code for r in both] == [200, 200]
    assert 'href="http://teahouse.localhost/"' in both[0].text  # canonical stays until changed

    owner_client.post("/admin/shop/domains/", {"action": "canonical", "domain": "tea.example.com"})
    again = shop_client("teahouse.localhost").get("/")
    assert 'rel="canonical" href="http://tea.example.com/"' in again.text


def test_staff_can_verify_a_domain_by_hand(staff, shop, shop_client):
    claim = services.domain_claim_add(tenant=shop, domain="shop.example.org", actor=None)

    staff.post(f"/console/shops/{shop.pk}/domains/{claim.pk}/verify/")

    claim.refresh_from_db()
    assert claim.status == DomainClaim.Status.VERIFIED
    assert claim.verified_by == staff.user
    assert shop_client("shop.example.org").get("/").status_code == 200


@pytest.mark.parametrize(
    "domain", ["not a domain", "localhost", "evil.localhost", "teahouse.localhost", "x"]
)
def test_bad_or_foreign_domains_are_refused(shop, owner_client, domain):
    response = owner_client.post("/admin/shop/domains/", {"action": "add", "domain": domain})

    assert response.status_code == 200
    assert not DomainClaim.objects.filter(tenant=shop).exists()


def test_a_domain_verified_for_one_shop_cannot_be_claimed_by_another(staff, shop, shops):
    claim = services.domain_claim_add(tenant=shop, domain="brand.example.net", actor=None)
    services.domain_claim_verify(claim=claim, actor=staff.user, by_hand=True)

    with pytest.raises(services.ValidationError):
        services.domain_claim_add(tenant=shops.a, domain="brand.example.net", actor=None)


def test_creator_of_another_shop_cannot_touch_this_shops_domains(shop, shops, shop_client):
    claim = services.domain_claim_add(tenant=shop, domain="mine.example.com", actor=None)
    other = shop_client("a.localhost")
    with tenant_context(shops.a):
        boss = get_user_model().objects.create_superuser("a-owner", "a@example.com", "pw")
        other.force_login(boss)

    response = other.post("/admin/shop/domains/", {"action": "verify", "claim": claim.pk})

    assert response.status_code == 404
    listing = other.get("/admin/shop/domains/")
    assert "mine.example.com" not in listing.text


def test_a_shop_with_payments_is_kept_and_staff_are_told_why(staff, shop):
    from datetime import timedelta

    from django.utils import timezone

    from billing.services import payment_create

    payment_create(
        tenant=shop,
        order_number="A-1001",
        amount=9900,
        provider="sandbox",
        expires_at=timezone.now() + timedelta(minutes=30),
    )

    response = staff.post(
        f"/console/shops/{shop.pk}/delete/",
        {"confirm_name": "Tea House"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert schema_exists("shop_teahouse")
    assert Tenant.objects.filter(pk=shop.pk).exists()
    assert "payment records the platform must keep" in response.text


# --- the creator's goods pages: rough edges -----------------------------------------------------


@pytest.mark.usefixtures("catalog_media", "catalog_english")
def test_working_out_the_margin_posts_the_form_and_adds_nothing(creator, shops):
    from catalog.testing import first_sku, product_make
    from storefront.models import Listing

    product = product_make(skus=1)
    sku = first_sku(product)
    client = creator("a")

    page = client.get(f"/admin/goods/{product.pk}/")
    # No button turns the form (and its CSRF token) into a GET: the token stays out of URLs.
    assert 'formmethod="get"' not in page.text
    assert 'name="action" value="margin"' in page.text
    worked_out = client.post(
        f"/admin/goods/{product.pk}/",
        {"action": "margin", "title": "x", f"sell_{sku.pk}": "1", f"price_{sku.pk}": "99.00"},
    )

    assert worked_out.status_code == 200
    assert "¥49.00" in worked_out.text  # the margin at ¥99 over the ¥50 supply price
    assert 'value="99.00"' in worked_out.text  # what she typed stays
    with tenant_context(shops.a):
        assert not Listing.objects.filter(product=product).exists()


@pytest.mark.usefixtures("catalog_media", "catalog_english")
def test_price_inputs_are_typed_so_the_admin_styles_them(creator, shops):
    import re

    from catalog.testing import product_make

    product = product_make(skus=2)

    page = creator("a").get(f"/admin/goods/{product.pk}/").text

    # Wagtail's stylesheet draws the border of input[type=text]; an untyped input had none.
    inputs = re.findall(r"<input[^>]*name=\"(?:price_\d+|title)\"[^>]*>", page)
    assert len(inputs) == 3
    assert all('type="text"' in tag for tag in inputs)
