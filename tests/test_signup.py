"""A creator goes from the sign-up form to a live, themed shop and lands logged in its admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context
from wagtail.models import Page, Site

from cms.models import AboutPage, ArticlePage, HomePage, ShopIndexPage, ShopSettings
from cms.themes import THEMES
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

GOOD = {
    "shop_name": "乐乐妈的好物",
    "subdomain": "lelema",
    "contact": "lele@example.com",
    "password1": "Spring-Blossom-2026",
    "password2": "Spring-Blossom-2026",
    "theme": "meadow",
}


def signup(shop_client, **changes):
    # English messages, so the assertions read as the code does; zh-hans is checked below.
    return shop_client("localhost").post("/signup/", {**GOOD, **changes}, HTTP_ACCEPT_LANGUAGE="en")


def test_signup_opens_a_live_shop_and_logs_the_creator_into_its_admin(shops, shop_client):
    response = signup(shop_client)

    assert response.status_code == 302
    welcome = response["Location"]
    assert welcome.startswith("http://lelema.localhost/account/welcome/")

    shop = shop_client("lelema.localhost")
    landed = shop.get(welcome.removeprefix("http://lelema.localhost"))
    assert landed.status_code == 302
    assert landed["Location"] == "/admin/"
    admin = shop.get("/admin/")
    assert admin.status_code == 200
    assert admin.wsgi_request.user.username == "lele@example.com"

    home = shop.get("/")
    assert home.status_code == 200
    assert "<h1>乐乐妈的好物</h1>" in home.text
    assert THEMES["meadow"].accent in home.text

    connection.set_schema_to_public()  # the client left the connection on the new shop
    tenant = Tenant.objects.get(schema_name="shop_lelema")
    assert tenant.state == Tenant.State.ACTIVE
    assert tenant.contact_email == "lele@example.com"
    assert tenant.owner.username == "lele@example.com"
    with tenant_context(tenant):
        assert Site.objects.get().hostname == "lelema.localhost"
        assert ShopSettings.objects.get().theme == "meadow"
        for page_type in (HomePage, AboutPage, ArticlePage, ShopIndexPage):
            assert page_type.objects.live().count() == 1
        assert get_user_model().objects.get(username="lele@example.com").is_superuser


def test_starter_pages_are_served_on_the_new_shop(shops, shop_client):
    signup(shop_client)
    shop = shop_client("lelema.localhost")

    for path in ("/about/", "/shop/", "/welcome/"):
        assert shop.get(path).status_code == 200, path


def test_welcome_link_works_once(shops, shop_client):
    welcome = signup(shop_client)["Location"].removeprefix("http://lelema.localhost")

    assert shop_client("lelema.localhost").get(welcome).status_code == 302
    second = shop_client("lelema.localhost").get(welcome)

    assert second.status_code == 400
    assert "/admin/" not in second.get("Location", "")


def test_welcome_link_for_one_shop_does_not_log_into_another(shops, shop_client):
    welcome = signup(shop_client)["Location"].removeprefix("http://lelema.localhost")
    other = shop_client("a.localhost")

    assert other.get(welcome).status_code == 400
    assert other.get("/admin/").status_code == 302  # still sent to log in


def test_mobile_number_signs_up_too(shops, shop_client):
    response = signup(shop_client, contact="+86 138-0013-8000", subdomain="mobile-mum")

    assert response.status_code == 302
    tenant = Tenant.objects.get(schema_name="shop_mobile_mum")
    assert tenant.contact_mobile == "13800138000"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"subdomain": "Bad_Name"}, "subdomain", "Use lower-case letters"),
        ({"subdomain": "-lead"}, "subdomain", "Use lower-case letters"),
        ({"subdomain": "a--b"}, "subdomain", "Use lower-case letters"),
        ({"subdomain": "x" * 31}, "subdomain", "at most 30"),
        ({"subdomain": "ab"}, "subdomain", "at least 3"),
        ({"subdomain": "admin"}, "subdomain", "reserved"),
        ({"subdomain": "www"}, "subdomain", "reserved"),
        ({"subdomain": "template"}, "subdomain", "reserved"),
        ({"contact": "not-an-email@"}, "contact", "valid e-mail"),
        ({"contact": "12345"}, "contact", "11-digit"),
        ({"password1": "123456", "password2": "123456"}, "password1", "too short"),
        ({"password1": "password123", "password2": "password123"}, "password1", "too common"),
        ({"password1": "lelema-example", "password2": "lelema-example"}, "password1", "similar"),
        ({"password2": "Something-Else-9"}, "password2", "differ"),
        ({"theme": "neon"}, "theme", "Select a valid choice"),
        ({"shop_name": "   "}, "shop_name", "required"),
    ],
)
def test_bad_signup_input_gets_a_clear_error_and_creates_nothing(
    shops, shop_client, changes, field, message
):
    before = Tenant.objects.count()

    response = signup(shop_client, **changes)

    assert response.status_code == 400
    errors = response.context["form"].errors[field]
    assert any(message in e for e in errors), errors
    assert Tenant.objects.count() == before
    assert not get_user_model().objects.filter(username=GOOD["contact"]).exists()


def test_taken_subdomain_is_refused(shops, shop_client):
    response = signup(shop_client, subdomain="a")  # staff-made shop a.localhost; too short too

    assert response.status_code == 400
    signup(shop_client)
    again = signup(shop_client, contact="other@example.com")
    assert again.status_code == 400
    assert "taken" in " ".join(again.context["form"].errors["subdomain"])


def test_existing_account_is_refused(shops, shop_client):
    signup(shop_client)

    again = signup(shop_client, subdomain="second-shop")

    assert again.status_code == 400
    assert "exists already" in " ".join(again.context["form"].errors["contact"])
    assert not schema_exists("shop_second_shop")


def test_signup_errors_are_in_chinese_by_default(shops, shop_client):
    response = shop_client("localhost").post(
        "/signup/", {**GOOD, "subdomain": "admin"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    assert "保留" in " ".join(response.context["form"].errors["subdomain"])


def test_signup_errors_are_in_english_when_asked(shops, shop_client):
    response = shop_client("localhost").post(
        "/signup/", {**GOOD, "subdomain": "admin"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert "reserved" in " ".join(response.context["form"].errors["subdomain"])


def test_creator_of_shop_a_gets_nothing_from_shop_b_admin_with_her_cookie(shops, shop_client):
    welcome = signup(shop_client)["Location"].removeprefix("http://lelema.localhost")
    mine = shop_client("lelema.localhost")
    mine.get(welcome)
    assert mine.get("/admin/").status_code == 200
    cookie = mine.cookies["sessionid"].value

    theirs = shop_client("b.localhost")
    theirs.cookies["sessionid"] = cookie

    response = theirs.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    pages = theirs.get("/admin/pages/")
    assert pages.status_code == 302
    login = theirs.post(
        "/admin/login/", {"username": GOOD["contact"], "password": GOOD["password1"]}
    )
    assert login.status_code == 200  # the form again: no such user in shop B
    assert theirs.get("/admin/").status_code == 302
    connection.set_schema_to_public()
    with tenant_context(shops.b):
        assert not get_user_model().objects.filter(username=GOOD["contact"]).exists()
        assert Page.objects.filter(title="乐乐妈的好物").count() == 0
