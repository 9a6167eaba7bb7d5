"""The permission check of every shop-admin view of storefront (see roles for who has what).

Wagtail's admin turns the PermissionDenied into a redirect to the dashboard with a message.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def perm_required(perm: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request.user.has_perm(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return checked

    return decorator
