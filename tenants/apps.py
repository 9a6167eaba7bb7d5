from __future__ import annotations

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Shops"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .middleware import shop_by_host_forget
        from .models import Domain, Tenant

        def domain_changed(sender, instance, **kwargs) -> None:
            shop_by_host_forget([instance.domain])

        def shop_changed(sender, instance, **kwargs) -> None:
            domains = Domain.objects.filter(tenant_id=instance.pk)
            hosts = list(domains.values_list("domain", flat=True))
            if hosts:
                shop_by_host_forget(hosts)

        # The middleware's cached shop for a host (middleware.py) is forgotten when either changes.
        for name, signal in (("save", post_save), ("delete", post_delete)):
            signal.connect(domain_changed, sender=Domain, weak=False, dispatch_uid=f"host-d-{name}")
            signal.connect(shop_changed, sender=Tenant, weak=False, dispatch_uid=f"host-t-{name}")
