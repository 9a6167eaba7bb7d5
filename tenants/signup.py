"""Self-service sign-up: a creator's platform account and her live shop, in one transaction,
and the one-time link that logs her into her new shop's admin on its own host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.db import transaction

from core.contact import Contact
from core.shop import current_schema, schema_set_public

from .models import Tenant
from .provisioning import ShopOwner, shop_provision

if TYPE_CHECKING:
    # AUTH_USER_MODEL is Django's own: the type get_user_model() returns, and ShopEvent.actor's.
    from django.contrib.auth.models import User

LOGIN_SALT = "vstore.tenants.shop-login"
LOGIN_MAX_AGE = 300  # seconds: the hand-off happens right after sign-up


def creator_signup(
    *, shop_name: str, subdomain: str, contact: Contact, password: str, theme: str
) -> Tenant:
    """Create the creator's platform account and open her shop; both or neither."""
    password_hash = make_password(password)  # hashed once, stored for both logins
    User = get_user_model()
    with transaction.atomic():
        account = User.objects.create(
            username=contact.login, email=contact.email, password=password_hash
        )
        owner = ShopOwner(
            user_id=account.pk,
            username=contact.login,
            email=contact.email,
            mobile=contact.mobile,
            password_hash=password_hash,
        )
        return shop_provision(name=shop_name, subdomain=subdomain, owner=owner, theme=theme)


def _login_state(user: User) -> str:
    # Logging in changes last_login, which invalidates the link: it works once.
    return user.last_login.isoformat() if user.last_login else ""


def shop_login_url(*, tenant: Tenant, username: str) -> str:
    """A link to the shop's host that logs USERNAME into its admin, once, within 5 minutes."""
    from django_tenants.utils import tenant_context

    with tenant_context(tenant):
        user = get_user_model().objects.get(username=username)
        token = signing.dumps(
            {"s": tenant.schema_name, "u": user.pk, "l": _login_state(user)}, salt=LOGIN_SALT
        )
    schema_set_public()
    port = settings.VSTORE_SHOP_PORT
    host = tenant.domains.get(is_primary=True).domain
    # As Wagtail's Site.root_url: 443 is https (production), 80 plain http, else http:PORT.
    origin = {443: f"https://{host}", 80: f"http://{host}"}.get(port, f"http://{host}:{port}")
    return f"{origin}/account/welcome/{token}/"


def shop_login_user(token: str) -> User | None:
    """The user a hand-off token names, if it is fresh, unused and for the current schema."""
    try:
        data = signing.loads(token, salt=LOGIN_SALT, max_age=LOGIN_MAX_AGE)
    except signing.BadSignature:
        return None
    # A token minted for shop A must not log anyone into shop B, where user ids mean others.
    if data.get("s") != current_schema():
        return None
    user = get_user_model().objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or _login_state(user) != data.get("l"):
        return None
    return user
