"""China's administrative divisions (省/市/区) for addresses, by the short province names that
shipping templates use ("新疆", "浙江").

The data is storefront/static/storefront/china-divisions.json, built by
scripts/build_china_divisions.py from a maintained data set (its source and licence are named
in the file). The checkout's picker reads the same file in the browser, so what a buyer can pick
and what the server accepts are one list.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "static/storefront/china-divisions.json"

PROVINCES: tuple[str, ...] = (
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏",
    "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西",
    "海南", "重庆", "四川", "贵州", "云南", "西藏", "陕西", "甘肃", "青海", "宁夏",
    "新疆", "香港", "澳门", "台湾",
)  # fmt: skip


@cache
def divisions() -> dict[str, dict[str, tuple[str, ...]]]:
    """province → city → districts (read once per process)."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))["provinces"]
    return {p: {c: tuple(ds) for c, ds in cities.items()} for p, cities in raw.items()}


def cities_of(province: str) -> tuple[str, ...]:
    return tuple(divisions().get(province, {}))


def districts_of(province: str, city: str) -> tuple[str, ...]:
    return divisions().get(province, {}).get(city, ())


def city_in(province: str, city: str) -> bool:
    return city in divisions().get(province, {})


def district_in(province: str, city: str, district: str) -> bool:
    return district in districts_of(province, city)
