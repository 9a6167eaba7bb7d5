"""Demo data for the fans CRM (called by the demo seed): tags on a few fans, a note, and one
pending deletion request, so the fan list and the creator's list of requests show something
at once. Idempotent: running it again adds nothing."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.models import Fan

from .models import FanDataRequest, FanNote, FanTag
from .services import fan_deletion_request

DEMO_TAGS = ("宝妈", "老客户", "辅食群")
DEMO_NOTE = "喜欢有机辅食，周末方便收货。"
# Used only when the shop has fewer fans than the demo needs (numbers from the 138 0000 block
# the demo keeps for made-up people).
DEMO_FANS = (("小雨妈妈", "13800000101"), ("豆豆妈", "13800000102"), ("乐乐爸", "13800000103"))


def demo_seed(*, shop) -> None:
    with tenant_context(shop):
        fans = list(Fan.objects.filter(erased_at__isnull=True).order_by("pk")[:4])
        for n, (name, mobile) in enumerate(DEMO_FANS[len(fans) :]):
            fan, created = Fan.objects.get_or_create(mobile=mobile, defaults={"name": name})
            if created:  # joined over the demo's 90 days, not all on the day it was seeded
                joined = timezone.now() - timedelta(days=20 + 25 * n, hours=3 * n)
                Fan.objects.filter(pk=fan.pk).update(created_at=joined)
            fans.append(fan)
        tags = [FanTag.objects.get_or_create(name=name)[0] for name in DEMO_TAGS]
        tags[0].fans.add(*fans[:3])
        tags[1].fans.add(*fans[:2])
        tags[2].fans.add(fans[0])
        if not FanNote.objects.filter(fan=fans[0], text=DEMO_NOTE).exists():
            FanNote.objects.create(fan=fans[0], text=DEMO_NOTE)
        if not FanDataRequest.objects.filter(kind=FanDataRequest.Kind.DELETE).exists():
            fan_deletion_request(fan=fans[-1])
