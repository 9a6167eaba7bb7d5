"""The shop's roles as groups: owner, editor (Wagtail's own Editors group), customer service.

Runs in every shop schema: the template is migrated, pooled shops are clones of it, so every
new shop has the groups; existing shops get them on migrate. Existing superusers of a shop
(the creator made at sign-up) join the owners. The names and grants are copied here, not
imported from storefront.team.roles, so this migration means the same thing forever;
tests/test_roles_admin.py checks the two agree.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations

CUSTOM = {
    "view_orders": "Can see orders, returns and buyers' contact details",
    "manage_reviews": "Can hide and show reviews",
    "view_money": "Can see earnings, payouts, statements and supply prices",
    "manage_team": "Can invite people and change their roles",
    "manage_shop": "Can change the shop's domains",
}
LISTING = {
    "add_listing": "Can add listing",
    "change_listing": "Can change listing",
    "delete_listing": "Can delete listing",
    "view_listing": "Can view listing",
}
OWNERS, EDITORS, SERVICE = "Shop owners", "Editors", "Customer service"
GRANTS = {
    OWNERS: [*CUSTOM, *LISTING],
    # Wagtail's own Editors group keeps its page, image and document permissions.
    EDITORS: [],
    SERVICE: ["view_orders", "manage_reviews"],
}


def roles_create(apps, schema_editor) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model(settings.AUTH_USER_MODEL)

    # post_migrate creates permissions only after every migration has run: make ours now.
    listing_type, _ = ContentType.objects.get_or_create(app_label="storefront", model="listing")
    perms = {
        codename: Permission.objects.get_or_create(
            content_type=listing_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in {**CUSTOM, **LISTING}.items()
    }
    admin_type, _ = ContentType.objects.get_or_create(app_label="wagtailadmin", model="admin")
    access_admin, _ = Permission.objects.get_or_create(
        content_type=admin_type,
        codename="access_admin",
        defaults={"name": "Can access Wagtail admin"},
    )
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(access_admin, *(perms[c] for c in codenames))
    owners = Group.objects.get(name=OWNERS)
    for user in User.objects.filter(is_superuser=True, is_active=True):
        user.groups.add(owners)


def roles_remove(apps, schema_editor) -> None:
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=[OWNERS, SERVICE]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("storefront", "0003_reviews"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        # Wagtail's initial data creates the Editors group with its page permissions.
        ("wagtailcore", "0002_initial_data"),
        ("wagtailimages", "0002_initial_data"),
        ("wagtaildocs", "0002_initial_data"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="listing",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [
                    ("view_orders", "Can see orders, returns and buyers' contact details"),
                    ("manage_reviews", "Can hide and show reviews"),
                    ("view_money", "Can see earnings, payouts, statements and supply prices"),
                    ("manage_team", "Can invite people and change their roles"),
                    ("manage_shop", "Can change the shop's domains"),
                ],
                "verbose_name": "listing",
                "verbose_name_plural": "listings",
            },
        ),
        migrations.RunPython(roles_create, roles_remove),
    ]
