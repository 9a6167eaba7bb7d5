"""The shop whose schema the database connection is in: the one typed place that reads it.

django-tenants keeps the tenant and its schema on the connection, an attribute Django's own
types do not know; everything else calls these helpers instead of `connection.tenant`.
The Tenant type is imported for the type checker only: at run time core imports nothing of the
project (import-linter's layers contract ignores type-checking imports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import connection

if TYPE_CHECKING:
    from tenants.models import Tenant


def public_schema() -> str:
    return cast(str, getattr(settings, "PUBLIC_SCHEMA_NAME", "public"))


class NotInShop(RuntimeError):
    """Shop data was asked for while the connection is in the public schema."""


def _tenant_connection() -> Any:
    return connection


def current_schema() -> str:
    return cast(str, getattr(connection, "schema_name", public_schema()))


def in_shop() -> bool:
    return current_schema() != public_schema()


def current_shop() -> Tenant:
    """The connection's shop; NotInShop in the public schema (run inside tenant_context)."""
    if not in_shop():
        raise NotInShop("shop data lives in a shop's schema: run inside tenant_context")
    return cast("Tenant", _tenant_connection().tenant)


def current_shop_id() -> int:
    return cast(int, current_shop().pk)


def schema_set_public() -> None:
    _tenant_connection().set_schema_to_public()
