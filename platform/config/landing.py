"""Where a platform login lands: each kind of user on the screen she works in.

Django's default LOGIN_REDIRECT_URL, /accounts/profile/, does not exist here (a 404 right after
a successful login). LoginView still prefers a safe ?next=; this only answers "no next given".
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from catalog.models import Supplier


@never_cache
def login_landing(request: HttpRequest) -> HttpResponseRedirect:
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if user.is_staff:
        return redirect("console:dashboard")
    if Supplier.objects.filter(user_id=user.pk).exists():
        return redirect("supplier:home")
    return redirect("platform-home")
