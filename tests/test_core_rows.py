"""core.rows.rows_update: each row's listed fields written, nothing else, in the shop's schema."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from core.rows import rows_update
from storefront.models import Fan

pytestmark = [pytest.mark.django_db]


def test_only_the_listed_fields_of_each_row_are_written_in_its_own_shop(shops):
    with tenant_context(shops.b):
        other = Fan.objects.create(mobile="13900000009", name="乙店")
    with tenant_context(shops.a):
        fans = [Fan.objects.create(mobile=f"1390000000{i}", name=f"粉丝{i}") for i in range(3)]
        for i, fan in enumerate(fans):
            fan.name = f"新名字{i}\u00e9"
            fan.mobile = "13800000000"  # changed in Python, not listed: stays as saved

        rows_update(fans, ["name"])

        stored = list(Fan.objects.filter(pk__in=[f.pk for f in fans]).order_by("pk"))
        assert [(f.name, f.mobile) for f in stored] == [
            (f"新名字{i}\u00e9", f"1390000000{i}") for i in range(3)
        ]
    with tenant_context(shops.b):
        assert Fan.objects.get(pk=other.pk).name == "乙店"


def test_unsaved_rows_mixed_models_and_the_primary_key_are_refused(shops):
    with tenant_context(shops.a):
        fan = Fan.objects.create(mobile="13900000001", name="甲")
        with pytest.raises(ValueError, match="saved rows of one model"):
            rows_update([fan, Fan(mobile="13900000002")], ["name"])
        with pytest.raises(ValueError, match="not a column"):
            rows_update([fan], ["id"])
        rows_update([], ["name"])  # nothing to write: no statement at all
        assert Fan.objects.get(pk=fan.pk).name == "甲"
