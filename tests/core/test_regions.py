"""Region codes: the bundled county table, the demo county's villages, and code validation."""

from __future__ import annotations

import pytest

from povdesk.core import regions
from povdesk.core.regions import Region
from povdesk.errors import BadInput


def test_county_count_is_plausible() -> None:
    gbt = regions.all_counties()
    assert 2800 <= len(gbt) <= 2900
    everything = regions.all_counties(include_statistical=True)
    assert len(everything) > len(gbt)
    assert all(r.level == "county" and len(r.code) == 6 for r in everything)
    assert len({r.code for r in everything}) == len(everything)


def test_beijing_chaoyang() -> None:
    assert regions.is_known_county("110105")
    assert regions.county("110105") == Region("110105", "朝阳区", "county")
    assert regions.full_name("110105") == "北京市朝阳区"
    assert regions.region_known_for_id("110105")


def test_demo_county() -> None:
    assert regions.is_known_county("522634")
    assert regions.full_name("522634") == "贵州省黔东南苗族侗族自治州雷山县"
    towns = regions.townships("522634")
    assert len(towns) == 9
    assert all(t.level == "township" and t.code.startswith("522634") for t in towns)
    assert Region("522634100", "丹江镇", "township") in towns
    villages = regions.villages("522634")
    assert len(villages) >= 150
    assert all(v.level == "village" and len(v.code) == 12 for v in villages)
    danjiang = regions.villages("522634100")
    assert danjiang and all(v.code.startswith("522634100") for v in danjiang)
    assert regions.lookup("522634100200") == Region("522634100200", "西门村", "village")
    assert regions.full_name("522634100200") == "贵州省黔东南苗族侗族自治州雷山县丹江镇西门村"


def test_counties_without_bundled_villages() -> None:
    assert regions.townships("110105") == []
    assert regions.villages("110105") == []


@pytest.mark.parametrize(
    "code, level",
    [("52", "province"), ("520000", "province"), ("5226", "prefecture"), ("522600", "prefecture")],
)
def test_lookup_higher_levels(code: str, level: str) -> None:
    region = regions.lookup(code)
    assert region is not None and region.level == level


def test_lookup_prefers_county_for_cities_without_counties() -> None:
    # 东莞市 has no counties: 441900 is its county-level code as well as the padded prefecture.
    region = regions.lookup("441900")
    assert region == Region("441900", "东莞市", "county")
    assert regions.full_name("441900") == "广东省东莞市"
    assert regions.lookup("4419") == Region("441900", "东莞市", "prefecture")


def test_full_names_skip_bookkeeping_prefectures() -> None:
    assert regions.full_name("500229") == "重庆市城口县"  # under 5002 "县"
    assert regions.full_name("419001") == "河南省济源市"  # under 4190 省直辖县级行政区划


def test_full_name_of_unknown_parts_shows_codes() -> None:
    assert regions.full_name("522634105") == "贵州省黔东南苗族侗族自治州雷山县 乡镇522634105"
    assert regions.full_name("522634100999") == "贵州省黔东南苗族侗族自治州雷山县丹江镇 村522634100999"


@pytest.mark.parametrize(
    "code, level",
    [("522634", "county"), ("522634100", "township"), ("522634100200", "village"), ("999999", "county")],
)
def test_level_of(code: str, level: str) -> None:
    assert regions.level_of(code) == level


@pytest.mark.parametrize(
    "code, zh, en",
    [
        ("", "为空", "empty"),
        ("52263", "有 5 位", "has 5 digits"),
        ("5226341001", "有 10 位", "has 10 digits"),
        ("52263410020O", "非数字", "other than digits"),
        ("522634 100", "非数字", "other than digits"),
        ("５２２６３４", "非数字", "other than digits"),
        ("522634000", "乡镇", "township part"),
        ("522634100000", "村级", "village part"),
        ("000000", "省级", "province part"),
    ],
)
def test_malformed_codes_rejected(code: str, zh: str, en: str) -> None:
    with pytest.raises(BadInput) as caught:
        regions.level_of(code)
    assert zh in caught.value.message("zh")
    assert en in caught.value.message("en")
    with pytest.raises(BadInput):
        regions.validate_workspace_region(code)


def test_workspace_region_known() -> None:
    assert regions.validate_workspace_region("522634") == ("county", regions.county("522634"))
    level, region = regions.validate_workspace_region("522634100200")
    assert level == "village" and region is not None and region.name == "西门村"


def test_workspace_region_well_formed_unknown_village_under_known_county() -> None:
    assert regions.validate_workspace_region("522634100999") == ("village", None)
    assert regions.validate_workspace_region("522634199") == ("township", None)
    # Counties whose villages are not bundled still take any well-formed village code.
    assert regions.validate_workspace_region("110105001001") == ("village", None)


def test_workspace_region_in_development_zone() -> None:
    # NBS numbers villages in development zones under statistical county codes.
    level, region = regions.validate_workspace_region("130171")
    assert level == "county" and region is not None and "开发区" in region.name
    assert not regions.region_known_for_id("130171")


@pytest.mark.parametrize(
    "code, zh, en",
    [
        ("522699", "522699 不是现行的县级区划代码", "not the code of a current county-level division"),
        ("522699100200", "前六位 522699", "first six digits of 522699100200"),
        ("990000", "前两位 99", "not the code of any province"),
        ("522600", "地级代码", "prefecture code"),
        ("520000", "省级代码", "province code"),
        ("110103", "已撤销的旧代码（崇文区", "former code (崇文区"),
    ],
)
def test_workspace_region_unknown_county_rejected(code: str, zh: str, en: str) -> None:
    with pytest.raises(BadInput) as caught:
        regions.validate_workspace_region(code)
    assert zh in caught.value.message("zh")
    assert en in caught.value.message("en")


@pytest.mark.parametrize(
    "code, status",
    [
        ("522634", "current"),
        ("522600", "current"),  # prefecture-level codes are GB/T 2260 codes as well
        ("110103", "former"),  # 崇文区, merged into 东城区 in 2010
        ("130171", "unknown"),  # statistical only
        ("999999", "unknown"),
        ("52263", "unknown"),
    ],
)
def test_id_region_status(code: str, status: str) -> None:
    assert regions.id_region_status(code) == status
    assert regions.region_known_for_id(code) == (status == "current")
