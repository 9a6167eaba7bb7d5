from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from core.clients import posts_limited

from .forms import SignupForm
from .signup import creator_signup, shop_login_url, shop_login_user


def platform_home(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/platform_home.html")


def shop_not_found(request: HttpRequest) -> HttpResponse:
    """What a host that matches no shop gets (settings.DEFAULT_NOT_FOUND_TENANT_VIEW)."""
    return render(request, "tenants/shop_not_found.html", {"host": request.get_host()}, status=404)


@sensitive_post_parameters("password1", "password2")
@never_cache
@posts_limited("signup")  # per client: each sign-up makes a shop; bots must not make thousands
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant = creator_signup(
                shop_name=data["shop_name"],
                subdomain=data["subdomain"],
                contact=data["contact"],
                password=data["password1"],
                theme=data["theme"],
            )
        except ValidationError as error:  # lost a race for the name since the form checked it
            form.add_error("subdomain", error)
        else:
            return HttpResponseRedirect(
                shop_login_url(tenant=tenant, username=data["contact"].login)
            )
    context = {"form": form, "platform_domain": settings.PLATFORM_DOMAIN}
    return render(request, "tenants/signup.html", context, status=400 if form.errors else 200)


@never_cache
def shop_welcome(request: HttpRequest, token: str) -> HttpResponse:
    """On the shop's host: log the new creator in from her one-time link, then open her admin."""
    user = shop_login_user(token)
    if user is None:
        return render(request, "tenants/welcome_expired.html", status=400)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect("/admin/")
