"""What a dashboard page shows, as plain values: a region of the province (province, prefecture,
county, township or village), its place in the tree, its counts and its ranked county comparison.

The figures of the province, its prefectures and counties come from one run of the province
report's queries over the whole province (db.household_groups, year_changes, quality_counts),
kept while no bundle is loaded; a county's townships and villages from one grouped query of that
county's partition (web.db.village_groups). Both are cached by the data version (the bundles
applied), so a page costs a cheap look at that version and some arithmetic, and a load shows up
on the next page.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine

from povdesk.core.regions import lookup
from povdesk.province import db as pdb
from povdesk.province.report import _counts, _merge, quality_table
from povdesk.province.web import db as wdb
from povdesk.reports.report import Table
from povdesk.store.summary import YEAR_STEPS, Summary, VillageCounts

LEVEL_OF_LENGTH = {2: "province", 4: "prefecture", 6: "county", 9: "township", 12: "village"}
LEVEL_ZH = {"province": "省", "prefecture": "市（州）", "county": "县（市、区）", "township": "乡镇", "village": "村"}
CHILD_LENGTH = {2: 4, 4: 6, 6: 9, 9: 12}
FLAG_LIMIT = 200  # flag rows listed on a page (the total is always given)

T = TypeVar("T")


@dataclass(frozen=True)
class Place:
    code: str  # 2, 4, 6, 9 or 12 digits
    name: str

    @property
    def level(self) -> str:
        return LEVEL_OF_LENGTH[len(self.code)]

    @property
    def label(self) -> str:
        return f"{self.name} {self.code}" if self.name else self.code


@dataclass(frozen=True)
class ProvinceData:
    """The province report's numbers for the whole province, one data version and year."""

    province: Place
    groups: list[tuple[str, str, str | None, str | None, int, int]]
    changes: dict[str, dict[str, int]]
    quality: dict[str, dict[str, Any]]
    county_names: dict[str, str]  # enrolled counties, as the province database names them


@dataclass(frozen=True)
class CountyData:
    groups: list[tuple[str, str, str | None, str | None, int, int]]  # by village
    changes: dict[str, dict[str, int]]  # by village


@dataclass(frozen=True)
class Child:
    place: Place
    counts: VillageCounts


@dataclass(frozen=True)
class RegionView:
    place: Place
    path: list[Place]  # the province down to this region
    summary: Summary
    in_year: dict[str, int]
    year: int
    children: list[Child]
    tree: list[tuple[Place, list[Place]]]  # each region of the path with its children, for the side tree
    quality: Table | None  # counties ranked by data quality (province, prefecture and county pages)


class Cache:
    """Values by key, kept while the data version they were made at is current (looked at no more
    than every `check_seconds`), at most `size` of them; one maker at a time per key."""

    def __init__(self, version: Callable[[], Hashable], check_seconds: float = 1.0, size: int = 256) -> None:
        self._version_of = version
        self._check = check_seconds
        self._size = size
        self._lock = threading.Lock()
        self._makers: dict[Hashable, threading.Lock] = {}
        self._values: dict[Hashable, tuple[Hashable, Any]] = {}
        self._version: Hashable = None
        self._checked = 0.0

    def version(self) -> Hashable:
        now = time.monotonic()
        if self._version is None or now - self._checked >= self._check:
            self._version, self._checked = self._version_of(), now
        return self._version

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        version = self.version()
        with self._lock:
            if len(self._makers) > 4 * self._size:  # keys asked for once (made-up codes) do not pile up
                self._makers = {k: v for k, v in self._makers.items() if k in self._values}
            maker = self._makers.setdefault(key, threading.Lock())
        with maker:
            have = self._values.get(key)
            if have is not None and have[0] == version:
                return have[1]
            value = make()
            with self._lock:
                if len(self._values) >= self._size:
                    self._values.pop(next(iter(self._values)))
                self._values[key] = (version, value)
            return value


def place_name(code: str, county_names: dict[str, str], province: Place) -> str:
    if code == province.code:
        return province.name
    region = lookup(code)
    if region is not None:
        return region.name
    return county_names.get(code, "") if len(code) == 6 else ""


class Figures:
    """The dashboard's reads over one province database."""

    def __init__(self, engine: Engine, check_seconds: float = 1.0) -> None:
        self.engine = engine
        self.cache = Cache(self._data_version, check_seconds)

    def _data_version(self) -> Hashable:
        with self.engine.connect() as conn:
            return wdb.data_version(conn)

    def province(self, year: int) -> ProvinceData:
        return self.cache.get(("province", year), lambda: self._load_province(year))

    def _load_province(self, year: int) -> ProvinceData:
        with self.engine.connect() as conn:
            pdb.require_schema(conn)
            keys = pdb.get_keys(conn)
            if keys is None:
                raise LookupError("no province keys")
            code = keys.region_code
            groups = pdb.household_groups(conn, code)
            changes = pdb.year_changes(conn, code, YEAR_STEPS, year)
            quality = pdb.quality_counts(conn, code)
            names = {c.county_code: c.name for c in pdb.list_counties(conn)}
        return ProvinceData(Place(code, keys.name), groups, changes, quality, names)

    def county(self, county: str, year: int) -> CountyData:
        def load() -> CountyData:
            with self.engine.connect() as conn:
                return CountyData(wdb.village_groups(conn, county, county),
                                  wdb.village_year_changes(conn, county, county, YEAR_STEPS, year))

        return self.cache.get(("county", county, year), load)

    def flags(self, code: str) -> tuple[int, list[dict[str, Any]]]:
        def load() -> tuple[int, list[dict[str, Any]]]:
            with self.engine.connect() as conn:
                return wdb.flags_in(conn, code, FLAG_LIMIT)

        return self.cache.get(("flags", code), load)

    def province_place(self) -> Place:
        with self.engine.connect() as conn:
            keys = pdb.get_keys(conn)
        if keys is None:
            raise LookupError("no province keys")
        return Place(keys.region_code, keys.name)

    # ------------------------------------------------------------------------------------- a region

    def counts_under(self, code: str, year: int) -> tuple[Summary, list[VillageCounts]]:
        """The summary of a region and its rows: one per county above county level, one per village
        from the county down. A county's summary is the province report's (its county row)."""
        def make() -> tuple[Summary, list[VillageCounts]]:
            summary = None
            if len(code) <= 6:
                p = self.province(year)
                c = _counts([g for g in p.groups if g[0].startswith(code)], p.changes)
                if len(code) < 6:
                    return c.summary, c.counties
                summary = c.summary
            cd = self.county(code[:6], year)
            v = _counts([g for g in cd.groups if g[0].startswith(code)], cd.changes)
            return summary or v.summary, v.counties

        return self.cache.get(("counts", code, year), make)

    def region(self, code: str, year: int) -> RegionView | None:
        """The page of a region; None when the province holds nothing there."""
        p = self.province(year)
        prov = p.province
        if not code.startswith(prov.code) or len(code) not in LEVEL_OF_LENGTH:
            return None

        def name(c: str) -> str:
            return place_name(c, p.county_names, prov)

        enrolled = set(p.county_names)
        summary, rows = self.counts_under(code, year)
        if not rows and not (len(code) <= 6 and any(c.startswith(code) for c in enrolled)):
            return None

        def children_of(c: str) -> list[Child]:
            n = CHILD_LENGTH.get(len(c))
            if n is None:
                return []
            groups: dict[str, list[VillageCounts]] = {}
            for r in self.counts_under(c, year)[1]:
                groups.setdefault(r.village_code[:n], []).append(r)
            if n <= 6:  # an enrolled county that has sent nothing yet is in the tree too
                for k in enrolled:
                    if k.startswith(c):
                        groups.setdefault(k[:n], [])
            return [Child(Place(k, name(k)), _merge(k, v)) for k, v in sorted(groups.items())]

        path = [Place(code[:n], name(code[:n])) for n in (2, 4, 6, 9, 12) if n <= len(code)]
        tree = [(pl, [ch.place for ch in children_of(pl.code)]) for pl in path]
        quality = None
        if len(code) <= 6:
            quality = quality_table({c: dict(q) for c, q in p.quality.items() if c.startswith(code)})
        return RegionView(path[-1], path, summary, _merge(code, rows).in_year, year, children_of(code), tree,
                          quality)
