"""Administrative divisions: GB/T 2260 counties and NBS 12-digit village codes, looked up offline."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from stdnum import numdb

from povdesk.errors import BadInput
from povdesk.i18n import Text, tr
from povdesk.paths import resource

LEVELS = ("province", "prefecture", "county", "township", "village")
LEVEL_BY_LENGTH = {6: "county", 9: "township", 12: "village"}

# Prefecture rows that are bookkeeping, not places: leaving them out of a full name gives
# "北京市朝阳区" rather than "北京市市辖区朝阳区".
_SILENT_PREFECTURES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # 6 digits for provinces (xx0000), prefectures (xxxx00) and counties; 9 or 12 below
    name: str
    level: str  # one of LEVELS


@dataclass(frozen=True, slots=True)
class _Tables:
    provinces: dict[str, Region]  # keyed by 2-digit code
    prefectures: dict[str, Region]  # keyed by 4-digit code
    counties: dict[str, Region]  # keyed by 6-digit code
    nbs_only: frozenset[str]  # county codes that are statistical only, never in an ID number
    townships: dict[str, Region]  # keyed by 9-digit code (demo county only)
    villages: dict[str, Region]  # keyed by 12-digit code (demo county only)


def _read_tsv(name: str) -> list[list[str]]:
    lines = resource("regions", name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[1:] if line]


@cache
def _tables() -> _Tables:
    provinces: dict[str, Region] = {}
    prefectures: dict[str, Region] = {}
    counties: dict[str, Region] = {}
    nbs_only: set[str] = set()
    for code, name, kind in _read_tsv("divisions.tsv"):
        if len(code) == 2:
            provinces[code] = Region(code + "0000", name, "province")
        elif len(code) == 4:
            prefectures[code] = Region(code + "00", name, "prefecture")
        else:
            counties[code] = Region(code, name, "county")
            if kind == "nbs":
                nbs_only.add(code)
    townships: dict[str, Region] = {}
    villages: dict[str, Region] = {}
    for code, name, *_official in _read_tsv("demo_villages.tsv"):
        if len(code) == 9:
            townships[code] = Region(code, name, "township")
        else:
            villages[code] = Region(code, name, "village")
    return _Tables(provinces, prefectures, counties, frozenset(nbs_only), townships, villages)


def level_of(code: str) -> str:
    """The level a well-formed 6-, 9- or 12-digit code names; BadInput says what is malformed."""
    if not isinstance(code, str) or not code:
        raise BadInput(tr("区划代码为空", "the region code is empty"))
    if not (code.isascii() and code.isdigit()):
        bad = sorted({ch for ch in code if not (ch.isascii() and ch.isdigit())})
        raise BadInput(
            tr(
                "区划代码 {code} 含有非数字字符：{chars}",
                "the region code {code} contains characters other than digits: {chars}",
                code=repr(code),
                chars=" ".join(repr(ch) for ch in bad),
            )
        )
    level = LEVEL_BY_LENGTH.get(len(code))
    if level is None:
        raise BadInput(
            tr(
                "区划代码 {code} 有 {n} 位，应为 6 位（县级）、9 位（乡镇）或 12 位（村级）",
                "the region code {code} has {n} digits; it must have 6 (county), 9 (township) or "
                "12 (village)",
                code=code,
                n=len(code),
            )
        )
    if code[:2] == "00":
        raise BadInput(
            tr(
                "区划代码 {code} 的前两位（省级）不能是 00",
                "the region code {code} cannot start with 00 (the province part)",
                code=code,
            )
        )
    # NBS numbers townships and villages from 001; an all-zero part is a padded higher level.
    if len(code) >= 9 and code[6:9] == "000":
        raise BadInput(
            tr(
                "区划代码 {code} 的第 7–9 位（乡镇）不能是 000",
                "the region code {code} cannot have 000 as its township part (digits 7-9)",
                code=code,
            )
        )
    if len(code) == 12 and code[9:12] == "000":
        raise BadInput(
            tr(
                "区划代码 {code} 的第 10–12 位（村级）不能是 000",
                "the region code {code} cannot have 000 as its village part (digits 10-12)",
                code=code,
            )
        )
    return level


def county(code6: str) -> Region | None:
    return _tables().counties.get(code6)


def is_known_county(code6: str) -> bool:
    """A current county-level division, NBS-only codes included: villages in a development zone
    are numbered under its statistical code (130171…), so a workspace may be one."""
    return code6 in _tables().counties


def all_counties(*, include_statistical: bool = False) -> list[Region]:
    """Every county-level division in code order; NBS-only codes (development zones) on request."""
    tables = _tables()
    return [
        region
        for code, region in tables.counties.items()
        if include_statistical or code not in tables.nbs_only
    ]


def lookup(code: str) -> Region | None:
    """The region a code names, or None when it is not in the bundled tables.

    Takes 2- and 4-digit province and prefecture codes, their 6-digit padded forms (520000,
    522600), counties, and 9- and 12-digit township and village codes.
    """
    tables = _tables()
    if not (isinstance(code, str) and code.isascii() and code.isdigit()):
        return None
    if len(code) == 2:
        return tables.provinces.get(code)
    if len(code) == 4:
        return tables.prefectures.get(code)
    if len(code) == 6:
        # Counties first: 441900 is both 东莞市 the county-level unit and the padded prefecture.
        if code in tables.counties:
            return tables.counties[code]
        if code.endswith("0000"):
            return tables.provinces.get(code[:2])
        if code.endswith("00"):
            return tables.prefectures.get(code[:4])
        return None
    if len(code) == 9:
        return tables.townships.get(code)
    if len(code) == 12:
        return tables.villages.get(code)
    return None


def full_name(code: str) -> str:
    """The name from province down, e.g. "贵州省黔东南苗族侗族自治州雷山县丹江镇西门村".

    Parts missing from the bundled tables show as codes ("…雷山县 乡镇522634105"), so a
    well-formed code always has a printable name. Malformed codes raise BadInput.
    """
    if len(code) in (2, 4) and code.isascii() and code.isdigit():
        region = lookup(code)
        return region.name if region else code
    level = level_of(code)
    tables = _tables()
    name = _county_name(code[:6])
    if level in ("township", "village"):
        township = tables.townships.get(code[:9])
        name += township.name if township else f" 乡镇{code[:9]}"
    if level == "village":
        village = tables.villages.get(code)
        name += village.name if village else f" 村{code}"
    return name.strip()


def _county_name(code6: str) -> str:
    tables = _tables()
    province = tables.provinces.get(code6[:2])
    prefecture = tables.prefectures.get(code6[:4])
    county_region = tables.counties.get(code6)
    parts = [province.name] if province else []
    if code6.endswith("0000") and province and not county_region:
        return "".join(parts)
    # 东莞市 is both the prefecture and its own county-level unit: name it once.
    if (
        prefecture
        and prefecture.name not in _SILENT_PREFECTURES
        and (county_region is None or county_region.name != prefecture.name)
    ):
        parts.append(prefecture.name)
    if county_region:
        parts.append(county_region.name)
    elif not (code6.endswith("00") and prefecture):
        parts.append(f" {code6}")
    return "".join(parts)


def townships(county6: str) -> list[Region]:
    """The townships of a county, in code order; empty when the county's are not bundled."""
    return [r for code, r in _tables().townships.items() if code[:6] == county6]


def villages(code: str) -> list[Region]:
    """The villages of a township (9 digits) or a county (6 digits), from the bundled table."""
    if len(code) not in (6, 9):
        return []
    return [r for vcode, r in _tables().villages.items() if vcode.startswith(code)]


def validate_workspace_region(code: str) -> tuple[str, Region | None]:
    """Check the region a workspace covers: a county, township or village of a known county.

    Returns the level and the region when the bundled tables know it (None for a well-formed
    township or village the tables lack: NBS adds and renumbers them every year).
    """
    level = level_of(code)
    tables = _tables()
    code6 = code[:6]
    if code6 not in tables.counties:
        province = tables.provinces.get(code6[:2])
        prefecture = tables.prefectures.get(code6[:4])
        if province is None:
            text = tr(
                "区划代码 {code} 的前两位 {p} 不是任何省级行政区的代码",
                "the region code {code} starts with {p}, which is not the code of any province",
                code=code,
                p=code6[:2],
            )
        elif code6.endswith("0000") and level == "county":
            text = tr(
                "{code} 是省级代码（{name}），工作区应是县级或以下",
                "{code} is a province code ({name}); a workspace covers a county or less",
                code=code,
                name=province.name,
            )
        elif code6.endswith("00") and prefecture and level == "county":
            text = tr(
                "{code} 是地级代码（{name}），工作区应是县级或以下",
                "{code} is a prefecture code ({name}); a workspace covers a county or less",
                code=code,
                name=prefecture.name,
            )
        else:
            where = province.name
            if prefecture and prefecture.name not in _SILENT_PREFECTURES:
                where += prefecture.name
            if level == "county":
                text = tr(
                    "{c} 不是现行的县级区划代码（{where}下没有这个县）",
                    "{c} is not the code of a current county-level division (there is no such county "
                    "in {where})",
                    c=code6,
                    where=where,
                )
            else:
                text = tr(
                    "{code} 的前六位 {c} 不是现行的县级区划代码（{where}下没有这个县）",
                    "the first six digits of {code}, {c}, are not the code of a current county-level "
                    "division (there is no such county in {where})",
                    code=code,
                    c=code6,
                    where=where,
                )
            former = _former_name(code6)
            if former:
                text = Text(
                    text.zh + f"；{code6} 是已撤销的旧代码（{former}），请改用现行代码",
                    text.en + f"; {code6} is a former code ({former}), use the current one",
                )
        raise BadInput(text)
    return level, lookup(code)


def id_region_status(code6: str) -> Literal["current", "former", "unknown"]:
    """Whether an ID number's first six digits are a current, a former or an unknown area code.

    ID numbers keep the code of the place and year they were issued, so a code abolished since
    (崇文区 110103 until 2010) is still right in an older member's number; python-stdnum carries
    a historical GB/T 2260 table that tells those from codes that never existed.
    """
    tables = _tables()
    if len(code6) != 6 or not (code6.isascii() and code6.isdigit()):
        return "unknown"
    if code6 in tables.counties:
        return "unknown" if code6 in tables.nbs_only else "current"
    # Prefecture- and province-level codes are GB/T 2260 codes too, and some IDs carry them.
    if code6.endswith("0000") and code6[:2] in tables.provinces:
        return "current"
    if code6.endswith("00") and code6[:4] in tables.prefectures:
        return "current"
    return "former" if _former_name(code6) is not None else "unknown"


def _former_name(code6: str) -> str | None:
    """What python-stdnum's historical GB/T 2260 table says code6 was, e.g. "崇文区 -2010"."""
    for part, props in numdb.get("cn/loc").info(code6):
        if part == code6[2:] and "county" in props:
            # Entries look like "[-2010]崇文区" or, for a reused code, several joined by commas.
            names = []
            for entry in str(props["county"]).split(","):
                years, _, name = entry.lstrip("[").rpartition("]")
                names.append(f"{name} {years}".strip())
            return "、".join(names)
    return None


# Besides the provinces of the table: 71 (台湾省, in GB/T 2260 though no mainland ID is issued
# there) and the residence permits of Hong Kong, Macao and Taiwan residents (810000, 820000,
# 830000), which are 18-character numbers of the same structure.
_ID_PROVINCES_OUTSIDE_TABLE = frozenset({"71", "81", "82", "83"})


def id_province_exists(code2: str) -> bool:
    """Whether an ID number can start with these two digits: no number was ever issued under 00 or 99."""
    return code2 in _tables().provinces or code2 in _ID_PROVINCES_OUTSIDE_TABLE


def region_known_for_id(code6: str) -> bool:
    """True when code6 is a current GB/T 2260 code, the only kind an ID issued today can carry."""
    return id_region_status(code6) == "current"
