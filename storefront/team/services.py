"""Writes about the shop's team: invite someone to a role, change it, remove her.

Only an owner reaches these (the views check storefront.manage_team). A shop always keeps at
least one owner: demoting or removing the last one is refused, under a lock per shop schema, so
two owners demoting each other at the same moment cannot leave the shop without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from core.contact import Contact

from .roles import OWNER, ROLE_GROUPS, Role
from .selectors import member_roles, owners


@dataclass(frozen=True)
class Invitation:
    user: Any
    path: str  # the one-time link, relative to the shop's host


def _team_lock() -> None:
    # One lock per shop schema: role changes of one shop run one at a time.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('vstore.team:' || current_schema()))")


def _roles_apply(user: Any, role: Role) -> None:
    user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS))
    user.groups.add(Group.objects.get(name=role.group))
    # Owners are superusers of their shop's schema (see roles); nobody else is.
    user.is_superuser = role is OWNER
    user.save(update_fields=["is_superuser"])


def _owner_stays(user: Any) -> None:
    """Refuse a change that would take away the shop's last owner."""
    if OWNER in member_roles(user) and not owners().exclude(pk=user.pk).exists():
        raise ValidationError(
            _("A shop needs at least one owner: make someone else an owner first."),
            code="last_owner",
        )


def invitation_path(*, user: Any) -> str:
    """A one-time link to set a password: Wagtail's password-reset confirmation.

    Its token (Django's PasswordResetTokenGenerator) covers the user's password hash and last
    login, so it works once, dies when a new link is made (a new unusable password), and means
    nothing in another shop's schema, where the same user id is someone else with another hash.
    It lasts settings.PASSWORD_RESET_TIMEOUT.
    """
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("wagtailadmin_password_reset_confirm", args=[uid, token])


@transaction.atomic
def member_invite(*, contact: Contact, role: Role) -> Invitation:
    """Add the person with CONTACT (mobile or e-mail, her login) to the team in ROLE.

    She gets no password: the invitation link lets her set one. Someone removed earlier comes
    back with the new role; someone already in the team is refused.
    """
    _team_lock()
    User = get_user_model()
    user = User.objects.select_for_update().filter(username=contact.login).first()
    if user is not None and user.is_active:
        raise ValidationError(_("This person is in your team already."), code="member_exists")
    if user is None:
        user = User(username=contact.login)
    user.email = contact.email
    user.is_active = True
    user.is_staff = False  # no Django admin on a shop's host; Wagtail's access is the grant
    user.set_unusable_password()
    user.save()
    _roles_apply(user, role)
    return Invitation(user=user, path=invitation_path(user=user))


@transaction.atomic
def member_invitation_renew(*, user: Any) -> Invitation:
    """A new link for someone who has not accepted yet; her earlier links stop working."""
    if user.has_usable_password():
        raise ValidationError(_("This person has set a password already."), code="accepted")
    user.set_unusable_password()  # a new random marker: older tokens no longer match
    user.save(update_fields=["password"])
    return Invitation(user=user, path=invitation_path(user=user))


@transaction.atomic
def member_role_set(*, user: Any, role: Role) -> None:
    _team_lock()
    if role is not OWNER:
        _owner_stays(user)
    _roles_apply(user, role)


@transaction.atomic
def member_remove(*, user: Any) -> None:
    """Take USER out of the team. The row stays (pages and revisions name their author); she
    cannot sign in any more and her open sessions end (a new password hash voids them)."""
    _team_lock()
    _owner_stays(user)
    user.groups.clear()
    user.is_superuser = False
    user.is_active = False
    user.set_unusable_password()
    user.save(update_fields=["is_superuser", "is_active", "password"])
