"""The owner's 团队 (Team) page in her shop's Wagtail admin: invite, change roles, remove."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from . import services
from .access import perm_required
from .forms import InviteForm, RoleForm
from .roles import MANAGE_TEAM
from .selectors import Member, member_get, team_members


def _invite_days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


def _invite_mail(request: HttpRequest, *, email: str, link: str) -> None:
    # One line: a shop name never reaches a mail header with a line break in it.
    shop = " ".join(str(getattr(getattr(connection, "tenant", None), "name", "")).split())
    send_mail(
        _("You are invited to the team of %(shop)s") % {"shop": shop},
        _(
            "Open this link to set your password (valid for %(days)d days, once):\n%(link)s\n\n"
            "Then sign in at %(admin)s with %(login)s."
        )
        % {
            "days": _invite_days(),
            "link": link,
            "admin": request.build_absolute_uri("/admin/"),
            "login": email,
        },
        None,
        [email],
    )


def _invitation_context(request: HttpRequest, invitation: services.Invitation) -> dict:
    return {
        "invite_link": request.build_absolute_uri(invitation.path),
        "invite_member": invitation.user,
        "invite_days": _invite_days(),
    }


@perm_required(MANAGE_TEAM)
def team_index(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    extra: dict = {}
    if request.method == "POST" and form.is_valid():
        contact, role = form.cleaned_data["contact"], form.cleaned_data["role"]
        try:
            invitation = services.member_invite(contact=contact, role=role)
        except ValidationError as error:
            form.add_error("contact", error)
        else:
            extra = _invitation_context(request, invitation)
            if contact.email:
                _invite_mail(request, email=contact.email, link=extra["invite_link"])
            # The link is shown once, on this response, and never stored: no redirect.
            form = InviteForm()
    return TemplateResponse(
        request,
        "storefront/admin/team_index.html",
        {
            "page_title": _("Team"),
            "header_icon": "group",
            "members": team_members(),
            "form": form,
            "me": request.user.pk,
            **extra,
        },
        status=400 if form.errors else 200,
    )


def _member(pk: int) -> Member:
    member = member_get(pk=pk)
    if member is None:
        raise Http404
    return member


@perm_required(MANAGE_TEAM)
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member(pk)
    initial = {"role": member.roles[0].key} if member.roles else {}
    form = RoleForm(request.POST or None, initial=initial)
    extra: dict = {}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "renew":
                extra = _invitation_context(
                    request, services.member_invitation_renew(user=member.user)
                )
                form = RoleForm(initial=initial)
            elif form.is_valid():
                services.member_role_set(user=member.user, role=form.cleaned_data["role"])
                messages.success(
                    request,
                    _("%(name)s is now: %(role)s.")
                    % {"name": member.user.get_username(), "role": form.cleaned_data["role"].label},
                )
                return redirect("storefront_team")
        except ValidationError as error:
            form.add_error(None, error)
    return TemplateResponse(
        request,
        "storefront/admin/team_member.html",
        {
            "page_title": member.user.get_username(),
            "header_icon": "user",
            "member": member,
            "form": form,
            **extra,
        },
        status=400 if form.errors else 200,
    )


@perm_required(MANAGE_TEAM)
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member(pk)
    error = ""
    if request.method == "POST":
        try:
            services.member_remove(user=member.user)
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(
                request, _("%(name)s has left the team.") % {"name": member.user.get_username()}
            )
            if member.user.pk == request.user.pk:
                return redirect("wagtailadmin_login")
            return redirect("storefront_team")
    return TemplateResponse(
        request,
        "storefront/admin/team_remove.html",
        {
            "page_title": _("Remove %(name)s") % {"name": member.user.get_username()},
            "header_icon": "user",
            "member": member,
            "error": error,
        },
        status=400 if error else 200,
    )
