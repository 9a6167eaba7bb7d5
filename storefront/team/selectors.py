"""Reads of the shop's team. Run in the shop's schema (users and groups live there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from .roles import OWNER, ROLES, Role


@dataclass(frozen=True)
class Member:
    user: Any
    roles: tuple[Role, ...]

    @property
    def is_owner(self) -> bool:
        return OWNER in self.roles

    @property
    def is_pending(self) -> bool:
        """Invited, and has not set a password yet."""
        return not self.user.has_usable_password()


def owners_q() -> Q:
    # The creator made at sign-up is a superuser of her shop's schema: an owner, in the group
    # or not (shops made before the roles existed joined it in migration 0004).
    return Q(is_superuser=True) | Q(groups__name=OWNER.group)


def member_roles(user: Any) -> tuple[Role, ...]:
    groups = {g.name for g in user.groups.all()}
    return tuple(r for r in ROLES if r.group in groups or (r is OWNER and user.is_superuser))


def team_members() -> list[Member]:
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .prefetch_related("groups")
        .order_by("date_joined", "pk")
    )
    return [Member(user=u, roles=member_roles(u)) for u in users]


def member_get(*, pk: Any) -> Member | None:
    try:
        number = int(pk)
    except (TypeError, ValueError):
        return None
    if not 0 < number < 2**31:  # a forged id beyond the column is nobody, not an error
        return None
    user = get_user_model().objects.filter(is_active=True, pk=number).first()
    if user is None:
        return None
    return Member(user=user, roles=member_roles(user))


def owners() -> QuerySet:
    return get_user_model().objects.filter(owners_q(), is_active=True).distinct()
