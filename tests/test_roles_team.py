"""The owner's Team page: invite someone to a role, the one-time link, change a role, remove a
member, and never leave the shop without an owner."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.team.roles import EDITOR, OWNER, SERVICE
from tenants.provisioning import ShopOwner, shop_provision

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_english")]

HOST = "teamshop.localhost"


@pytest.fixture
def shop(shops):
    # A shop made the way sign-up makes one: its creator is the only user, a superuser.
    owner = ShopOwner(username="boss@example.com", email="boss@example.com", password_hash="!")
    return shop_provision(name="Team\r\nShop", subdomain="teamshop", owner=owner)


@pytest.fixture
def client_for(shop, shop_client):
    class ShopClient(shop_client):
        def request(self, **request):
            try:
                return super().request(**request)
            finally:
                connection.set_schema_to_public()

    def make(username: str | None = None):
        client = ShopClient(HOST)
        if username:
            with tenant_context(shop):
                client.force_login(get_user_model().objects.get(username=username))
            connection.set_schema_to_public()
        return client

    return make


def users(shop):
    with tenant_context(shop):
        return {u.username: u for u in get_user_model().objects.prefetch_related("groups")}


def roles_of(shop, username: str) -> set[str]:
    with tenant_context(shop):
        user = get_user_model().objects.get(username=username)
        return set(user.groups.values_list("name", flat=True)) | (
            {"superuser"} if user.is_superuser else set()
        )


def invite_link(response) -> str:
    match = re.search(r'value="(http://[^"]+/admin/password_reset/confirm/[^"]+)"', response.text)
    assert match, "no invitation link on the page"
    return match.group(1)


def accept(client, link: str, password: str):
    """Open the invitation link and set a password, as the invited person does."""
    path = link.removeprefix(f"http://{HOST}")
    opened = client.get(path)
    assert opened.status_code == 302  # Django moves the token out of the URL into the session
    form = client.get(opened["Location"])
    assert form.status_code == 200 and "new_password1" in form.text
    return client.post(opened["Location"], {"new_password1": password, "new_password2": password})


def test_the_creator_is_the_owner_and_sees_her_team(shop, client_for):
    owner = client_for("boss@example.com")

    page = owner.get("/admin/team/")

    assert page.status_code == 200
    assert [m.user.username for m in page.context["members"]] == ["boss@example.com"]
    assert page.context["members"][0].roles == (OWNER,)
    assert '"/admin/team/"' in owner.get("/admin/").text  # her menu item


def test_an_invited_person_sets_a_password_once_and_signs_in_to_her_role(shop, client_for):
    owner = client_for("boss@example.com")

    invited = owner.post("/admin/team/", {"contact": "139 1234 5678", "role": SERVICE.key})

    assert invited.status_code == 200
    link = invite_link(invited)
    made = users(shop)["13912345678"]
    assert not made.has_usable_password() and made.is_active and not made.is_superuser
    assert roles_of(shop, "13912345678") == {SERVICE.group}
    assert not mail.outbox  # a mobile number: the owner sends the link herself

    newcomer = client_for()
    done = accept(newcomer, link, "Tea-and-cakes-2026")
    assert done.status_code == 302 and "complete" in done["Location"]

    # The link worked once.
    again = client_for().get(link.removeprefix(f"http://{HOST}"))
    assert again.status_code in (200, 302)
    if again.status_code == 302:
        again = client_for().get(again["Location"])
    assert "new_password1" not in again.text

    signed_in = client_for()
    answer = signed_in.post(
        "/admin/login/", {"username": "13912345678", "password": "Tea-and-cakes-2026"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    assert signed_in.get("/admin/orders/").status_code == 200
    assert signed_in.get("/admin/earnings/")["Location"] == "/admin/"
    assert signed_in.get("/admin/team/")["Location"] == "/admin/"


def test_an_invitation_by_e_mail_is_sent_with_the_link_and_a_safe_subject(shop, client_for):
    owner = client_for("boss@example.com")

    invited = owner.post("/admin/team/", {"contact": "Writer@Example.com", "role": EDITOR.key})

    assert invited.status_code == 200
    assert roles_of(shop, "writer@example.com") == {EDITOR.group}
    [message] = mail.outbox
    assert message.to == ["writer@example.com"]
    assert invite_link(invited) in message.body
    # The shop's name had a line break: the subject is still one header line.
    assert "\n" not in message.subject and "\r" not in message.subject


def test_a_new_link_voids_the_old_one(shop, client_for):
    owner = client_for("boss@example.com")
    first = invite_link(owner.post("/admin/team/", {"contact": "13911112222", "role": "editor"}))
    pk = users(shop)["13911112222"].pk

    renewed = owner.post(f"/admin/team/{pk}/", {"action": "renew"})

    second = invite_link(renewed)
    assert second != first
    stale = client_for()
    opened = stale.get(first.removeprefix(f"http://{HOST}"))
    page = stale.get(opened["Location"]) if opened.status_code == 302 else opened
    assert "new_password1" not in page.text
    assert accept(client_for(), second, "Fresh-link-2026").status_code == 302


@pytest.mark.parametrize(
    "data",
    [
        {"contact": "not a phone", "role": "editor"},
        {"contact": "13911112222", "role": "superuser"},
        {"contact": "13911112222\u202e", "role": "editor"},
        {"contact": "boss@example.com", "role": "editor"},  # already in the team
        {"contact": "x" * 300, "role": "service"},
    ],
)
def test_bad_invitations_are_refused_with_a_message(shop, client_for, data):
    before = set(users(shop))

    answer = client_for("boss@example.com").post("/admin/team/", data)

    assert answer.status_code == 400
    assert answer.context["form"].errors
    assert set(users(shop)) == before


def test_the_owner_changes_a_role_and_the_change_applies_at_once(shop, client_for):
    owner = client_for("boss@example.com")
    owner.post("/admin/team/", {"contact": "13933334444", "role": "service"})
    pk = users(shop)["13933334444"].pk
    member = client_for("13933334444")
    assert member.get("/admin/orders/").status_code == 200

    changed = owner.post(f"/admin/team/{pk}/", {"action": "role", "role": "editor"})

    assert changed.status_code == 302
    assert roles_of(shop, "13933334444") == {EDITOR.group}
    assert member.get("/admin/orders/")["Location"] == "/admin/"

    owner.post(f"/admin/team/{pk}/", {"action": "role", "role": "owner"})
    assert roles_of(shop, "13933334444") == {OWNER.group, "superuser"}
    assert member.get("/admin/earnings/").status_code == 200


def test_the_last_owner_can_be_neither_demoted_nor_removed(shop, client_for):
    owner = client_for("boss@example.com")
    me = users(shop)["boss@example.com"].pk

    demote = owner.post(f"/admin/team/{me}/", {"action": "role", "role": "editor"})
    remove = owner.post(f"/admin/team/{me}/remove/")

    assert demote.status_code == 400 and remove.status_code == 400
    assert "at least one owner" in demote.text and "at least one owner" in remove.text
    assert "superuser" in roles_of(shop, "boss@example.com")
    assert users(shop)["boss@example.com"].is_active


def test_removing_asks_first_and_ends_the_members_access(shop, client_for):
    owner = client_for("boss@example.com")
    owner.post("/admin/team/", {"contact": "13955556666", "role": "owner"})
    pk = users(shop)["13955556666"].pk
    second_owner = client_for("13955556666")
    assert second_owner.get("/admin/earnings/").status_code == 200

    confirm = owner.get(f"/admin/team/{pk}/remove/")
    assert confirm.status_code == 200 and "13955556666" in confirm.text
    assert users(shop)["13955556666"].is_active  # asking removes nothing

    removed = owner.post(f"/admin/team/{pk}/remove/")

    assert removed.status_code == 302
    gone = users(shop)["13955556666"]
    assert not gone.is_active and not gone.is_superuser and not roles_of(shop, "13955556666")
    # Her open session is over.
    assert second_owner.get("/admin/")["Location"].startswith("/admin/login/")
    # Now the creator is the last owner again, and she may remove the other one no more.
    assert [m.user.username for m in owner.get("/admin/team/").context["members"]] == [
        "boss@example.com"
    ]


def test_a_forged_member_id_is_not_found_never_an_error(shop, client_for):
    owner = client_for("boss@example.com")

    for url in ("/admin/team/99999999999/", "/admin/team/0/"):
        assert owner.get(url).status_code == 404
        assert owner.post(url + "remove/").status_code == 404
