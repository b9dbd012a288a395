"""Synthetic demo registry: realistic households of a 雷山县 village, township or county, plus planted mistakes."""

from __future__ import annotations

import bisect
import gc
import itertools
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any, TypeVar

from povdesk.core import idnumber, regions
from povdesk.core import monitoring as mon
from povdesk.core.forms import form_version
from povdesk.core.income import counts_in_household, household_size, poverty_line, reference_year, summarize
from povdesk.core.model import Household, Member, ProcedureEvent, YearRecord
from povdesk.core.procedures import StepSpec, load_procedures, procedure_settings
from povdesk.core.rules import RULE_VERSION
from povdesk.errors import BadInput
from povdesk.i18n import Text

DEMO_REGION = "522634100201"  # 雷山县丹江镇东门村, a real village of the bundled table
DEMO_PASSWORD = "demo1234"
# The accounts povdesk.store.demo creates for a demo workspace; procedure events name these users.
DEMO_USERS = {
    "admin": "admin",
    "worker": "village_worker",
    "township": "township_official",
    "county": "county_coordinator",
}
_USER_OF_ROLE = {role: user for user, role in DEMO_USERS.items()}
T = TypeVar("T")

# The procedures of 建档立卡 happen between the first identification (2014) and the last poverty line
# (2020); applicants identified in 2021 are judged on 2020 incomes, the last year with a line.
# Incomes go on up to the year before `today` (monitoring needs them); monitoring steps fall in
# the year and a half before `today`.
FIRST_YEAR = 2014
LAST_INCOME_YEAR = 2020
EARLIEST_TODAY = date(2021, 7, 1)

class _Pick:
    """A weighted choice with precomputed cumulative weights (random.choices is slower per call)."""

    __slots__ = ("values", "cum", "total")

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.values = [v for v, _ in pairs]
        self.cum = list(itertools.accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


# ------------------------------------------------------------------------------------ proportions
# Shares the brief asks for (statuses, attributes) and national figures; see docs/demo.md.
_STATUS = _Pick([("registered", 50), ("exited", 30), ("applicant", 8), ("removed", 3), ("returned", 3),
                 ("not_identified", 2)])
_ATTRIBUTE = _Pick([("01", 70), ("02", 25), ("03", 5)])
# National 2015 建档立卡 shares of households naming each cause (they overlap, so they are weights).
_MAIN_CAUSE = _Pick([("01", 42), ("09", 35), ("07", 22), ("08", 17), ("03", 9), ("02", 6)])
_TEKUN_CAUSE = _Pick([("08", 50), ("01", 30), ("02", 20)])
_OTHER_CAUSE = _Pick([("01", 42), ("09", 35), ("07", 22), ("08", 17), ("03", 9), ("02", 6), ("04", 6),
                      ("05", 4), ("10", 4), ("06", 2), ("11", 3)])
# Most households were filed in the 2014 campaign; later years are dynamic additions.
_IDENT_YEAR = {2014: 45, 2015: 12, 2016: 11, 2017: 10, 2018: 9, 2019: 7, 2020: 6}
# National yearly reduction of the rural poor, millions (NBS), used as exit-year weights.
_EXIT_YEAR = {2015: 14.4, 2016: 12.4, 2017: 12.9, 2018: 13.9, 2019: 11.1, 2020: 5.5}
_ETHNICITY = _Pick([("06", 85), ("01", 8), ("12", 3), ("25", 4)])  # 苗 汉 侗 水
_ETHNICITY_SHUI = _Pick([("25", 50), ("06", 40), ("01", 7), ("12", 3)])  # 达地水族乡

_SURNAMES = _Pick([("杨", 20), ("吴", 12), ("李", 10), ("王", 8), ("龙", 7), ("张", 6), ("潘", 5), ("唐", 4),
                   ("余", 4), ("文", 4), ("侯", 3), ("万", 3), ("毛", 3), ("陈", 3), ("罗", 3), ("刘", 2),
                   ("邰", 2), ("顾", 2), ("姜", 2), ("梁", 2), ("石", 2), ("蒋", 1), ("宋", 1), ("金", 1),
                   ("欧", 1)])
# Given names by birth cohort and sex: what village registers of these years look like.
_GIVEN = {
    ("old", "1"): ["正清", "光荣", "德顺", "明德", "昌荣", "金贵", "文光", "永福", "开元", "应昌", "国才", "绍华", "志成", "顺林", "老九", "成富", "明金", "德才", "光华", "正发"],
    ("old", "2"): ["秀英", "秀珍", "桂英", "玉兰", "桂花", "金花", "秀芬", "春花", "银花", "秀兰", "正英", "老妹", "阿妹", "金秀", "玉秀", "满妹"],
    ("mid", "1"): ["国华", "建国", "文军", "勇", "志明", "光辉", "红军", "建华", "正华", "明亮", "金平", "云", "海军", "永强", "贵平", "林", "波", "文", "荣华", "兴旺", "德明", "昌文"],
    ("mid", "2"): ["春梅", "丽萍", "小芳", "玉梅", "秀梅", "英", "芳", "丽", "红梅", "金英", "美玲", "冬梅", "桂芳", "艳", "燕", "仙", "小英"],
    ("young", "1"): ["俊杰", "志强", "海", "涛", "浩", "鹏", "磊", "伟", "杰", "明", "宇", "文斌", "建波", "小龙", "金龙", "光明", "正", "阳"],
    ("young", "2"): ["小梅", "婷", "娟", "丽娟", "雪", "丹", "倩", "艳", "敏", "玲", "芳芳", "雪梅", "丽丽", "春燕", "露", "莎"],
    ("child", "1"): ["宇轩", "浩然", "子豪", "俊熙", "梓航", "一鸣", "锦程", "睿", "博文", "子墨", "天佑", "晨阳", "思远", "宇航", "皓轩"],
    ("child", "2"): ["欣怡", "子涵", "梓涵", "雨桐", "诗琪", "佳怡", "思彤", "可馨", "语嫣", "梦瑶", "紫萱", "一诺", "雨欣", "欣悦"],
}
_EDUCATION_BY_COHORT = {  # birth year below the key -> education weights (codes.toml `education`)
    1950: _Pick([("1", 70), ("2", 27), ("3", 3)]),
    1965: _Pick([("1", 45), ("2", 42), ("3", 12), ("4", 1)]),
    1980: _Pick([("1", 15), ("2", 50), ("3", 32), ("4", 3)]),
    1995: _Pick([("1", 4), ("2", 30), ("3", 55), ("4", 9), ("5", 2)]),
    9999: _Pick([("2", 6), ("3", 55), ("4", 28), ("5", 8), ("6", 3)]),
}
_DISABILITY_TYPE = _Pick([("4", 40), ("1", 15), ("2", 12), ("5", 12), ("6", 10), ("3", 5), ("7", 6)])
_DISABILITY_GRADE = _Pick([("1", 10), ("2", 25), ("3", 35), ("4", 30)])
_MIGRANT_STATUS = _Pick([("4", 55), ("3", 20), ("2", 15), ("1", 10)])
_MIGRANT_MONTHS = _Pick([(3, 1), (4, 1), (5, 1), (6, 2), (7, 2), (8, 3), (9, 3), (10, 4), (11, 3), (12, 5)])
_FAR_PLACES = ("浙江省宁波市", "广东省东莞市", "广东省深圳市", "福建省晋江市", "江苏省苏州市", "浙江省温州市",
               "广东省佛山市", "浙江省杭州市")
_GUIZHOU_PLACES = ("贵阳市", "凯里市", "都匀市", "遵义市")
_HOUSING_GRADE = _Pick([("A", 20), ("B", 45), ("C", 25), ("D", 10)])
_ROAD_TYPE = _Pick([("1", 20), ("2", 30), ("3", 48), ("4", 2)])
_FUEL = _Pick([("1", 65), ("4", 25), ("3", 10)])
_REMOVAL_REASON = _Pick([("03", 30), ("04", 25), ("01", 12), ("05", 8), ("06", 8), ("02", 5), ("07", 5),
                         ("08", 4), ("10", 3)])
# Reasons an open removal can carry while the household is still registered: none of them is in the
# members' data (a public servant or a cadre would be an EXCLUSION finding until the removal ends).
_OPEN_REMOVAL_REASON = _Pick([("03", 30), ("04", 25), ("05", 8), ("06", 8), ("07", 5), ("08", 4), ("10", 3)])
_REMOVAL_TEXT = {
    "01": "经财政供养人员信息比对，家庭成员为财政供养人员",
    "02": "户主为现任村“两委”干部",
    "03": "经车辆信息比对，家庭拥有小轿车一辆（购置价约 8 万元）",
    "04": "经不动产登记信息比对，在县城购有商品房一套",
    "05": "家庭成员注册经营公司且实际经营",
    "06": "经营规模养殖场，长期雇用他人",
    "07": "为争当贫困户拆户分户",
    "08": "户籍在本村但长期不在本村居住",
    "10": "高标准装修住房，购置高档消费品",
}
_GIVEN_PAIRS = (("吴国华", "杨秀兰"), ("李明", "潘志刚"), ("王德文", "龙梅"), ("张勇", "杨光荣"))
_APPLICATION_NOTES = ("户主本人提出书面申请", "经村民小组推荐，户主签字申请", "家庭成员代为提出申请")
_OPINIONS = {
    "identification": ("经入户核查，符合贫困户识别条件，同意上报县级审批",
                       "经审核，家庭收入及“两不愁三保障”情况属实，同意纳入"),
    "exit": ("经审核，达到“一超过两不愁三保障”退出标准，同意退出", "经乡镇核查，收入及保障情况属实，同意退出"),
    "return_to_poverty": ("经入户核查，返贫情况属实，同意上报", "经审核，返贫原因属实，同意重新纳入帮扶"),
    "removal": ("经审核，符合清退情形，同意清退",),
    "monitoring": ("经审核，家庭存在返贫致贫风险，情况属实，同意纳入监测", "经乡镇核查，风险情况属实，同意上报县级审定"),
    "elimination": ("经验收，收入持续稳定，“三保障”和饮水安全巩固，同意风险消除",),
}
# Monitoring (2020 onward): risks that need no other data to be coherent, and how cases came in.
_MONITORING_RISKS = ("02", "05", "06")
_DISCOVERY_NOTES = {"1": "户主到村委会口头申报，家庭收入骤减", "2": "驻村工作队入户排查发现",
                    "3": "县医保部门推送大额医疗支出预警"}
_MONITORING_FINDINGS = ("家庭收入较上年明显下降，存在返贫致贫风险；义务教育、基本医疗、住房和饮水安全有保障",
                        "遭受意外后务工收入中断，家庭人均纯收入下降")
_EXIT_REASONS = ("家庭年人均纯收入稳定超过扶贫标准，“两不愁三保障”已落实", "务工收入稳定增长，已达退出标准",
                 "产业发展见效，收入超过当年扶贫标准")
_RETURN_REASONS = ("家庭成员患大病，医疗支出大、收入骤减", "遭受洪涝灾害，房屋及农作物受损",
                   "主要劳动力意外受伤，失去务工收入", "外出务工中断，家庭收入低于扶贫标准")
_COUNTY_UNITS = ("人民政府办公室", "农业农村局", "教育局", "卫生健康局", "财政局", "人力资源和社会保障局",
                 "住房和城乡建设局", "交通运输局", "林业局", "水务局", "民政局", "扶贫开发办公室", "统计局",
                 "审计局", "市场监督管理局")
_VILLAGE_NAMES = ["新寨", "大寨", "上寨", "下寨", "高岩", "平寨", "白岩", "乌秋", "龙塘", "桥港", "格头", "排里", "掌雷", "羊排", "开屯", "猫鼻", "大坪", "交密", "九摆", "白碧", "龙河", "岩寨", "坪上", "河边", "中寨", "高坡", "石桥", "水寨", "堡上", "松林"]
_TOWNSHIP_NAMES = ["城关镇", "河口乡", "石门乡", "龙泉镇", "新田镇", "高坡乡", "中和镇", "坪山乡", "太平镇", "长乐乡", "桃源乡", "青山镇"]
_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
_PHONE_PREFIXES = ("139", "138", "137", "136", "135", "150", "151", "152", "157", "158", "182", "183", "187",
                   "188", "198", "130", "131", "155", "156", "185", "186", "133", "153", "180", "189")
_FAMILY = _Pick([("single", 9), ("couple", 12), ("nuclear", 40), ("nuclear_parents", 14), ("three_gen", 17),
                 ("single_parent", 8)])
_WITH_CHILDREN = _Pick([("nuclear", 45), ("nuclear_parents", 15), ("three_gen", 25), ("single_parent", 15)])
_CHILD_COUNT = _Pick([(1, 25), (2, 45), (3, 22), (4, 8)])
_LABOUR_SIXTIES = _Pick([("3", 60), ("1", 20), ("5", 20)])


# The monitoring positions among the first households (a 30-household demo has them): a turned-down
# household and a monitored one with nothing begun, and households waiting at a monitoring publicity
# or county decision. all_positions() adds the rest of the monitoring steps after them.
_FIRST_MONITORING = (("monitoring_identification_general", 0), ("monitoring_identification_general", 5),
                     ("monitoring_identification_general", 7), ("risk_elimination_general", 2),
                     ("monitoring_identification", 5), ("risk_elimination", 0), ("risk_elimination", 2),
                     ("risk_elimination", 4))


@cache
def step_positions() -> tuple[tuple[str, int], ...]:
    """(procedure, steps taken) of a household standing at each step of each procedure of 建档立卡,
    and at the main steps of monitoring (_FIRST_MONITORING).

    generate() makes one household for each of these first, so a demo of at least this many
    households has one waiting at every step of identification, exit, removal and return to
    poverty (and a publicity list to print for every one of their publicities).
    """
    steps = {key: len(spec.steps) for key, spec in load_procedures().items()}
    out = [("identification", n) for n in range(steps["identification"])]  # 0: an applicant, nothing done yet
    out += [("exit", n) for n in range(steps["exit"])]  # 0: registered, nothing begun (removal's first step too)
    out += [("removal", n) for n in range(1, steps["removal"])]
    out += [("return_to_poverty", n) for n in range(steps["return_to_poverty"])]  # 0: exited, nothing begun
    out += [p for p in _FIRST_MONITORING if p[0] in steps and p[1] < steps[p[0]]]
    return tuple(out)


@cache
def all_positions() -> tuple[tuple[str, int], ...]:
    """step_positions() and then every other step of the monitoring procedures: a demo of at least
    this many households has one waiting at every step of every procedure."""
    steps = {key: len(spec.steps) for key, spec in load_procedures().items()}
    first = step_positions()
    # An identification under way (0 for an exited household is return_to_poverty's 0; for an
    # ordinary household, one turned down at identification) and an elimination (0: monitored).
    wanted = [("monitoring_identification", n) for n in range(1, steps["monitoring_identification"])]
    wanted += [("risk_elimination", n) for n in range(steps["risk_elimination"])]
    wanted += [("monitoring_identification_general", n) for n in range(steps["monitoring_identification_general"])]
    wanted += [("risk_elimination_general", n) for n in range(steps["risk_elimination_general"])]
    return first + tuple(p for p in wanted if p not in first)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def _uuid4(bits: int) -> str:
    """str(uuid.UUID(int=bits, version=4)) at a third of the cost: ids must follow the seed, not uuid4()."""
    bits = (bits & ~(0xC000 << 48) | (0x8000 << 48)) & ~(0xF000 << 64) | (4 << 76)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ------------------------------------------------------------------------------------ internal shapes


@dataclass(slots=True, eq=False)
class _Person:
    relation: str
    sex: str
    birth: date
    age: int
    surname: str
    ethnicity: str
    region: str = ""
    name: str = ""
    health: str = "1"
    disability: tuple[str, str] | None = None
    student: str | None = None
    education: str | None = None
    labour: str | None = None
    migrant: str | None = None  # migrant_status code while working away
    place: str = ""
    months: int = 0
    dibao: bool = False
    tekun: bool = False
    insured: bool = True
    public_servant: bool = False
    cadre: bool = False


@dataclass(slots=True)
class _Plan:
    status: str
    ident_year: int
    stop: int | None = None  # identification steps taken; None = the whole procedure
    exit_year: int | None = None
    return_year: int | None = None
    removal_year: int | None = None
    exit_progress: int | None = None  # steps of an exit still open in 2020; 0 = its appraisal was lost
    removal_progress: int | None = None  # steps of a removal still open in 2020 (the household stays registered)
    return_progress: int | None = None  # steps of a return to poverty still open in 2020 (it stays exited)
    monitoring: tuple[str, int] | None = None  # (monitoring procedure, steps taken) in 2020-2021


@dataclass(slots=True)
class _Village:
    code: str
    name: str
    township: str
    representatives: int
    groups: int
    helpers: list[list[Any]] = field(default_factory=list)  # [identity, households, capacity]
    next_no: int = 1


@dataclass(slots=True)
class _Cursor:
    """Where the next procedure step may fall: after the last event, and after any publicity's end."""

    day: int  # ordinal of the last event


# ------------------------------------------------------------------------------------ generator


class _Generator:
    def __init__(self, region_code: str, seed: int, today: date) -> None:
        # The villages draw from this stream; each household, and each helper, from its own
        # (see household() and helper()), so a date-dependent draw changes nothing beyond it.
        self.stream = f"povdesk-demo:{region_code}:{seed}"
        self.rng = random.Random(self.stream)
        self.random = self.rng.random
        self.today = today
        self.today_ord = today.toordinal()
        self.county = region_code[:6]
        county = regions.county(self.county)
        self.county_name = county.name if county else f"{self.county}县"
        self.abbr = self.county_name[0]
        self.home_id_region = self._id_region(self.county)
        prefecture = [c.code for c in regions.all_counties()
                      if c.code[:4] == self.county[:4] and c.code != self.county and regions.region_known_for_id(c.code)]
        self.near_regions = prefecture or [self.home_id_region]
        province = regions.lookup(self.county[:2])
        self.province_name = province.name if province else ""
        prefecture_region = regions.lookup(self.county[:4])
        if self.county[:2] == "52":
            self.near_places = list(_GUIZHOU_PLACES)
        else:
            self.near_places = [prefecture_region.name if prefecture_region else "省内其他县"]
        self.county_town = (self.county_name[:-1] + "县城") if self.county_name.endswith("县") else self.county_name
        self.far_places = [p for p in _FAR_PLACES if not (self.province_name and p.startswith(self.province_name))]
        self.villages = self._villages(region_code)
        self.village_pick = _Pick([(v, self.rng.uniform(0.5, 2.0)) for v in self.villages])
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()
        self.age_bounds = [
            (( _years_before(today, a + 1) + timedelta(days=1)).toordinal(), _years_before(today, a).toordinal())
            for a in range(111)
        ]
        school_year = today.year if (today.month, today.day) >= (9, 1) else today.year - 1
        self.school_cutoff = date(school_year, 8, 31)
        self.steps = {key: spec.steps for key, spec in load_procedures().items()}
        self.evidence_keys = {(key, step.key): frozenset(f.key for f in step.evidence)
                              for key, steps in self.steps.items() for step in steps}
        self.publicity_days = procedure_settings().publicity_days
        self.lines = {y: line.line for y in range(2011, LAST_INCOME_YEAR + 1)
                      if (line := poverty_line(y, "1")) is not None}
        # Incomes run to last year. After 2020 there is no poverty line: the 2020 line grown by 6% a
        # year is only the demo's yardstick for drawing incomes, never a line anything is judged by.
        self.income_end = max(LAST_INCOME_YEAR, today.year - 1)
        for y in range(LAST_INCOME_YEAR + 1, self.income_end + 1):
            self.lines[y] = round(self.lines[LAST_INCOME_YEAR] * 1.06 ** (y - LAST_INCOME_YEAR))

    # ---------------------------------------------------------------- regions

    def _id_region(self, code6: str) -> str:
        """The code an ID number issued here carries: development zones have none of their own."""
        for candidate in (code6, code6[:4] + "00", code6[:2] + "0000"):
            if regions.region_known_for_id(candidate):
                return candidate
        return code6

    def _villages(self, code: str) -> list[_Village]:
        level = regions.level_of(code)
        if level == "village":
            codes = [code]
        else:
            known = regions.villages(code)
            rural = [v for v in known if v.name.endswith("村")]
            codes = [v.code for v in (rural or known)]
            if not codes:
                codes = self._synthetic_villages(code)
        out = []
        for vcode in codes:
            village = regions.lookup(vcode)
            township = regions.lookup(vcode[:9])
            out.append(_Village(
                code=vcode,
                name=village.name if village else self.pick(_VILLAGE_NAMES) + "村",
                township=township.name if township else _TOWNSHIP_NAMES[int(vcode[6:9]) % len(_TOWNSHIP_NAMES)],
                representatives=self.ri(25, 45),
                groups=self.ri(4, 12),
            ))
        return out

    def _synthetic_villages(self, code: str) -> list[str]:
        """Well-formed NBS codes: towns numbered from 100, townships from 200, villages from 200."""
        if len(code) == 9:
            towns = [code]
        else:
            towns = [f"{code}{100 + i:03d}" for i in range(self.ri(3, 6))]
            towns += [f"{code}{200 + i:03d}" for i in range(self.ri(3, 6))]
        return [f"{t}{200 + j:03d}" for t in towns for j in range(self.ri(6, 14))]

    # ---------------------------------------------------------------- small pieces

    def ri(self, lo: int, hi: int) -> int:
        """randint without its argument checks, a third of generation time at county scale."""
        return lo + int(self.random() * (hi - lo + 1))

    def pick(self, options: Sequence[T]) -> T:
        return options[int(self.random() * len(options))]

    def money(self, lo: int, hi: int, step: int) -> float:
        return float(lo + step * self.ri(0, (hi - lo) // step))

    def uuid(self) -> str:
        return _uuid4(self.rng.getrandbits(128))

    def birth(self, age: int) -> date:
        lo, hi = self.age_bounds[age]
        return date.fromordinal(self.ri(lo, hi))

    # A number already given out is replaced by the next free one without drawing again: a clash
    # depends on what other households drew, and must not shift this household's stream.

    def id_number(self, region: str, birth: date, sex: str) -> str:
        head = f"{region}{birth:%Y%m%d}"
        seq = 2 * self.ri(0, 499) + 1 if sex == "1" else 2 * self.ri(1, 499)  # odd men, even women
        while head + f"{seq:03d}" in self.used_ids:
            seq = (seq + 2) % 1000 or 2  # the same parity, so the same sex (000 is never issued)
        self.used_ids.add(head + f"{seq:03d}")
        return idnumber.make(region, birth, seq)

    def phone(self) -> str:
        prefix, rest = self.pick(_PHONE_PREFIXES), self.ri(0, 10**8 - 1)
        while (number := f"{prefix}{rest:08d}") in self.used_phones:
            rest = (rest + 1) % 10**8
        self.used_phones.add(number)
        return number

    def given_name(self, birth_year: int, sex: str) -> str:
        cohort = "old" if birth_year < 1960 else "mid" if birth_year < 1985 else "young" if birth_year < 2005 else "child"
        return self.pick(_GIVEN[cohort, sex])

    def ethnicity(self, village: _Village) -> str:
        return (_ETHNICITY_SHUI if "水族" in village.township else _ETHNICITY)(self.rng)

    # ---------------------------------------------------------------- lifecycle

    def plan(self) -> _Plan:
        rng = self.rng
        status = _STATUS(rng)
        if status == "applicant":
            # Stopped before any step, or after any step but the last.
            return _Plan(status, self.pick((2020, 2021)), stop=self.ri(0, len(self.steps["identification"]) - 1))
        if status == "not_identified":
            return _Plan(status, self._year(_IDENT_YEAR, FIRST_YEAR, 2020))
        open_exit = len(self.steps["exit"]) - 1  # an exit can be left open after any step but the last
        if status == "registered":
            plan = _Plan(status, self._year(_IDENT_YEAR, FIRST_YEAR, 2020))
            if plan.ident_year <= 2019 and rng.random() < 0.12:
                plan.exit_progress = self.ri(0, open_exit)
            return plan
        if status == "exited":
            year = self._year(_IDENT_YEAR, FIRST_YEAR, 2019)
            return _Plan(status, year, exit_year=self._year(_EXIT_YEAR, year + 1, 2020))
        if status == "returned":
            year = self._year(_IDENT_YEAR, FIRST_YEAR, 2018)
            exit_year = self._year(_EXIT_YEAR, year + 1, 2019)
            plan = _Plan(status, year, exit_year=exit_year, return_year=self.ri(exit_year + 1, 2020))
            if plan.return_year is not None and plan.return_year <= 2019 and rng.random() < 0.2:
                plan.exit_progress = self.ri(1, open_exit)
            return plan
        year = self._year(_IDENT_YEAR, FIRST_YEAR, 2019)
        plan = _Plan(status, year)
        if year <= 2018 and rng.random() < 0.2:
            plan.exit_year = self._year(_EXIT_YEAR, year + 1, 2019)
        after = (plan.exit_year or year) + 1
        # 回头看 found most wrongly filed households within a year or two.
        plan.removal_year = min(2020, after + (0 if rng.random() < 0.6 else self.ri(1, 3)))
        return plan

    def positioned_plan(self, procedure: str, done: int) -> _Plan:
        """A household at the given step of the procedure: `done` of its steps taken, or none begun."""
        if procedure == "identification":
            return _Plan("applicant", self.pick((2020, 2021)), stop=done)
        if procedure == "exit":
            return _Plan("registered", self._year(_IDENT_YEAR, FIRST_YEAR, 2019), exit_progress=done or None)
        if procedure == "removal":
            return _Plan("registered", self._year(_IDENT_YEAR, FIRST_YEAR, 2019), removal_progress=done or None)
        if procedure in mon.PROCEDURES:
            if procedure.endswith("_general"):  # an ordinary household, turned down at identification
                return _Plan("not_identified", self._year(_IDENT_YEAR, FIRST_YEAR, 2020), monitoring=(procedure, done))
            year = self._year(_IDENT_YEAR, FIRST_YEAR, 2018)
            return _Plan("exited", year, exit_year=self._year(_EXIT_YEAR, year + 1, 2019), monitoring=(procedure, done))
        year = self._year(_IDENT_YEAR, FIRST_YEAR, 2018)
        return _Plan("exited", year, exit_year=self._year(_EXIT_YEAR, year + 1, 2019), return_progress=done or None)

    def _year(self, weights: Mapping[int, float], lo: int, hi: int) -> int:
        pairs = [(y, w) for y, w in weights.items() if lo <= y <= hi]
        return int(_Pick(pairs)(self.rng)) if pairs else lo

    # ---------------------------------------------------------------- people

    def person(self, relation: str, sex: str, age: int, surname: str, ethnicity: str,
               region: str | None = None) -> _Person:
        birth = self.birth(age)
        return _Person(relation, sex, birth, age, surname, ethnicity, region or self.home_id_region,
                       name=surname + self.given_name(birth.year, sex))

    def other_surname(self, not_this: str) -> str:
        while True:
            surname = _SURNAMES(self.rng)
            if surname != not_this:
                return surname

    def married_in_region(self) -> str:
        """Most spouses come from the same county; some from elsewhere in the prefecture."""
        return self.home_id_region if self.rng.random() < 0.8 else self.pick(self.near_regions)

    def spouse_ethnicity(self, partner: str, village: _Village) -> str:
        return partner if self.rng.random() < 0.75 else self.ethnicity(village)

    def children(self, father: _Person | None, mother: _Person | None, count: int, surname: str,
                 relations: tuple[str, str], lo: int = 0, hi: int | None = None) -> list[_Person]:
        """Children at least 19 whole years younger than each parent, born to a mother of at most 40."""
        rng = self.rng
        parents = [p for p in (father, mother) if p is not None]
        top = min(p.age for p in parents) - 19
        if hi is not None:
            top = min(top, hi)
        bottom = max(lo, (mother.age - 40) if mother else 0)
        if top < bottom:
            return []
        ethnicity = next((p.ethnicity for p in parents if p.ethnicity != "01"), parents[0].ethnicity)
        kids = []
        for _ in range(count):
            sex = "1" if rng.random() < 0.52 else "2"
            kids.append(self.person(relations[0] if sex == "1" else relations[1], sex, self.ri(bottom, top),
                                    surname, ethnicity))
        kids.sort(key=lambda k: k.birth)
        return kids

    def family(self, village: _Village, attribute: str, kind: str) -> list[_Person]:
        if attribute == "03":
            return self._tekun_family(village)
        rng = self.rng
        surname = _SURNAMES(rng)
        eth = self.ethnicity(village)
        if kind == "single":
            if rng.random() < 0.7:
                sex = "2" if rng.random() < 0.55 else "1"
                return [self.person("01", sex, self.ri(60, 88), surname, eth)]
            return [self.person("01", "1" if rng.random() < 0.8 else "2", self.ri(35, 59), surname, eth)]
        if kind == "couple":
            head = self.person("01", "1", self.ri(55, 85) if rng.random() < 0.85 else self.ri(30, 54),
                               surname, eth)
            return [head, self._wife(head, village)]
        if kind in ("nuclear", "nuclear_parents"):
            head = self.person("01", "1", self.ri(26, 55 if kind == "nuclear_parents" else 58), surname, eth)
            wife = self._wife(head, village)
            members = [head, wife]
            parents = []
            if kind == "nuclear_parents":
                father_age = min(92, head.age + self.ri(20, 35))
                mother_age = min(90, max(head.age + 19, father_age - self.ri(0, 6)))
                roll = rng.random()
                if roll < 0.4:
                    parents.append(self.person("11", "1", father_age, surname, eth))
                if roll > 0.25:
                    parents.append(self.person("12", "2", mother_age, self.other_surname(surname),
                                               self.spouse_ethnicity(eth, village)))
            room = 7 - len(members) - len(parents)
            members += self.children(head, wife, min(_CHILD_COUNT(rng), room), surname, ("03", "04"))
            members += parents
            self._maybe_sibling(members, village)
            return members
        if kind == "single_parent":
            sex = "2" if rng.random() < 0.6 else "1"
            head = self.person("01", sex, self.ri(28, 55), surname, eth)
            kid_surname = surname if sex == "1" else self.other_surname(surname)
            father = head if sex == "1" else None
            mother = head if sex == "2" else None
            members = [head, *self.children(father, mother, min(_CHILD_COUNT(rng), 3), kid_surname, ("03", "04"))]
            return members
        return self._three_generations(village, surname, eth)

    def _wife(self, head: _Person, village: _Village) -> _Person:
        age = max(20, head.age - self.ri(-2, 6))
        return self.person("02", "2", age, self.other_surname(head.surname), self.spouse_ethnicity(head.ethnicity, village),
                           self.married_in_region())

    def _maybe_sibling(self, members: list[_Person], village: _Village) -> None:
        """Now and then an unmarried brother or sister of the head lives in (之兄弟姐妹)."""
        rng = self.rng
        head = members[0]
        if len(members) < 7 and rng.random() < 0.03:
            age = max(18, min(80, head.age + self.ri(-10, 10)))
            sex = "1" if rng.random() < 0.6 else "2"
            members.append(self.person("21", sex, age, head.surname, head.ethnicity))

    def _three_generations(self, village: _Village, surname: str, eth: str) -> list[_Person]:
        """An older head living with a married son (or a daughter and 上门女婿) and grandchildren."""
        rng = self.rng
        male_head = rng.random() < 0.6
        head = self.person("01", "1" if male_head else "2", self.ri(58, 82), surname, eth)
        members = [head]
        wife = None
        if male_head and rng.random() < 0.75:
            wife = self._wife(head, village)
            members.append(wife)
        # The head's child: a son (之子) with his wife (之儿媳), or a daughter with an in-marrying husband.
        son_line = rng.random() < 0.8
        child_age_hi = min(p.age for p in members) - 19
        if child_age_hi < 22:
            return members
        child_age = self.ri(22, min(child_age_hi, 50))
        line_surname = surname if male_head else self.other_surname(surname)
        if son_line:
            child = self.person("03", "1", child_age, line_surname, eth)
            partner_age = max(20, min(head.age - 16, child.age + self.ri(-6, 3)))
            partner = self.person("05", "2", partner_age, self.other_surname(line_surname),
                                  self.spouse_ethnicity(eth, village), self.married_in_region())
            grand = ("07", "08")
            father, mother = child, partner
            grand_surname = line_surname
        else:
            child = self.person("04", "2", child_age, line_surname, eth)
            partner_age = max(20, min(head.age - 16, child.age + self.ri(-3, 6)))
            partner = self.person("06", "1", partner_age, self.other_surname(line_surname),
                                  self.spouse_ethnicity(eth, village), self.married_in_region())
            grand = ("09", "10")
            father, mother = partner, child
            grand_surname = line_surname  # children of an in-marrying husband keep the family's name
        members += [child, partner]
        members += self.children(father, mother, min(self.pick((1, 1, 2, 2, 2, 3)), 7 - len(members)),
                                 grand_surname, grand)
        if len(members) < 7 and rng.random() < 0.15:
            members += self.children(head if male_head else None, wife or (head if not male_head else None), 1,
                                     line_surname, ("03", "04"), lo=18, hi=35)
        return members

    def _tekun_family(self, village: _Village) -> list[_Person]:
        """特困供养: old people or a severely disabled adult with nobody able to work."""
        rng = self.rng
        surname = _SURNAMES(rng)
        eth = self.ethnicity(village)
        roll = rng.random()
        if roll < 0.7:
            return [self.person("01", "1" if rng.random() < 0.5 else "2", self.ri(61, 90), surname, eth)]
        if roll < 0.85:
            head = self.person("01", "1" if rng.random() < 0.6 else "2", self.ri(25, 60), surname, eth)
            head.health = "4"
            head.disability = (_DISABILITY_TYPE(rng), self.pick(("1", "2")))
            return [head]
        head = self.person("01", "1", self.ri(65, 88), surname, eth)
        wife = self._wife(head, village)
        if wife.age < 61:
            wife = self.person("02", "2", self.ri(61, head.age), wife.surname, wife.ethnicity, wife.region)
        return [head, wife]

    # ---------------------------------------------------------------- member attributes

    def health(self, people: list[_Person]) -> None:
        rng = self.rng
        for p in people:
            if p.disability is not None:
                continue
            chronic, serious, disabled = (
                (0.01, 0.005, 0.015) if p.age < 15 else (0.03, 0.015, 0.03) if p.age < 40
                else (0.10, 0.03, 0.05) if p.age < 60 else (0.25, 0.05, 0.07)
            )
            roll = rng.random()
            if roll < chronic:
                p.health = "2"
            elif roll < chronic + serious:
                p.health = "3"
            elif roll < chronic + serious + disabled:
                self.disable(p)

    def disable(self, p: _Person) -> None:
        p.health = "4"
        p.disability = (_DISABILITY_TYPE(self.rng), _DISABILITY_GRADE(self.rng))

    def make_ill(self, people: list[_Person]) -> None:
        adults = [p for p in people if p.age >= 30 and p.health == "1"] or [p for p in people if p.health == "1"]
        if adults:
            self.pick(adults).health = "2" if self.rng.random() < 0.65 else "3"

    def schooling(self, people: list[_Person], student_cause: bool) -> None:
        rng = self.rng
        for p in people:
            # Age thresholds in the rules (学龄前 below 7, schooling from 7) must still hold when
            # the demo is validated a year or two later, so 5-year-olds are already in kindergarten.
            if p.age < 5:
                p.education = "7"
                continue
            grade = _age(p.birth, self.school_cutoff) - 5
            # Everyone of 5-17 is at school; of the older children, those not through high school
            # yet, and some in college.
            at_school = p.age <= 17 or (p.age <= 22 and p.relation not in ("01", "02", "05", "06") and (
                grade <= 12 or rng.random() < (0.5 if student_cause else 0.18)))
            if at_school:
                p.student = self._grade_code(grade, rng)
            else:
                cohort = next(k for k in _EDUCATION_BY_COHORT if p.birth.year < k)
                p.education = _EDUCATION_BY_COHORT[cohort](rng)
                if p.sex == "2" and p.birth.year < 1980 and p.education != "1" and rng.random() < 0.15:
                    p.education = "1"

    @staticmethod
    def _grade_code(grade: int, rng: random.Random) -> str:
        if grade <= 0:
            return "01"
        if grade <= 6:
            return "02"
        if grade <= 9:
            return ("03", "04", "05")[grade - 7]
        if grade <= 12:
            return ("06", "07", "08")[grade - 10] if rng.random() < 0.7 else ("09", "10", "11")[grade - 10]
        year = grade - 12
        return ("12", "13", "14")[year - 1] if year <= 3 and rng.random() < 0.6 else "15"

    def labour(self, people: list[_Person], tekun: bool) -> None:
        rng = self.rng
        for p in people:
            if p.age < 14:  # required from 16: recorded early so the data keeps as children grow
                continue
            if tekun:
                # A healthy member of a 特困 household is old enough that 无劳动力 is not a rule breach.
                p.labour = "5" if p.health == "1" else "4"
            elif p.disability is not None:
                p.labour = "4" if p.disability[1] in ("1", "2") else "3"
            elif p.health == "3":
                p.labour = "4" if rng.random() < 0.6 else "3"
            elif p.health == "2":
                p.labour = "3" if rng.random() < 0.6 else "1"
            elif p.student is not None:
                p.labour = "3" if p.age < 18 else "1"
            elif p.age <= 55:
                p.labour = "2" if rng.random() < 0.12 else "1"
            elif p.age <= 60:
                p.labour = "1" if rng.random() < 0.7 else "3"
            elif p.age < 70:
                p.labour = _LABOUR_SIXTIES(rng)
            else:
                p.labour = "5" if rng.random() < 0.7 else "3"

    def migration(self, people: list[_Person], village: _Village, few_hands: bool) -> None:
        rng = self.rng
        head_away = False
        for p in people:
            if not (18 <= p.age <= 55 and p.labour in ("1", "2") and p.student is None):
                continue
            chance = 0.55 if p.sex == "1" else 0.38
            if p.relation in ("02", "05", "06") and head_away:
                chance = 0.6
            if few_hands:
                chance /= 2
            if rng.random() >= chance:
                continue
            p.migrant = _MIGRANT_STATUS(rng)
            p.months = _MIGRANT_MONTHS(rng)
            p.place = {"1": village.township, "2": self.county_town}.get(p.migrant) or self.pick(
                self.near_places if p.migrant == "3" else self.far_places)
            head_away = head_away or p.relation == "01"

    def member_fields(self, p: _Person) -> dict[str, Any]:
        rng = self.rng
        f: dict[str, Any] = {
            "name": p.name,
            "sex": p.sex,
            "id_type": "1",
            "id_number": self.id_number(p.region, p.birth, p.sex),
            "birth_date": p.birth.isoformat(),
            "relation": p.relation,
            "ethnicity": p.ethnicity,
        }
        if p.age >= 16:
            f["political"] = ("01" if p.sex == "1" and p.age >= 35 and rng.random() < 0.08
                              else "03" if p.age <= 28 and rng.random() < 0.3 else "13")
        elif p.age >= 14 and rng.random() < 0.3:
            f["political"] = "03"
        if p.education is not None:
            f["education"] = p.education
        if p.student is not None:
            f["student_status"] = p.student
        f["health"] = p.health
        if p.disability is not None:
            f["disability_type"], f["disability_grade"] = p.disability
        if p.labour is not None:
            f["labour"] = p.labour
            if p.migrant is not None:
                f["migrant_status"] = p.migrant
                f["migrant_place"] = p.place
                f["migrant_months"] = p.months
            elif p.labour in ("1", "2") and p.student is None:
                f["migrant_status"] = "0"
                f["migrant_months"] = 0
        minority_elder = p.ethnicity != "01" and p.age >= 40
        f["speaks_mandarin"] = p.age >= 4 and (not minority_elder or rng.random() < (0.35 if p.age >= 60 else 0.75))
        f["rural_medical"] = p.insured
        f["critical_illness"] = p.insured
        f["employee_medical"] = False
        if p.age >= 16 and p.student is None:
            f["resident_pension"] = rng.random() < 0.95
            f["employee_pension"] = False
        f["dibao"] = p.dibao
        f["tekun"] = p.tekun
        if p.age >= 18:
            f["public_servant"] = p.public_servant
            f["village_cadre"] = p.cadre
            f["active_military"] = False
        return f

    # ---------------------------------------------------------------- one household

    @contextmanager
    def drawing_from(self, key: str) -> Iterator[None]:
        """Draw from the stream named `key` of this seed and region, then go back to the current one."""
        saved = self.rng
        self.rng = random.Random(f"{self.stream}:{key}")
        self.random = self.rng.random
        try:
            yield
        finally:
            self.rng, self.random = saved, saved.random

    def household(self, index: int) -> Household:
        """The index-th household, from its own random stream; the first ones stand at every step."""
        self.rng = random.Random(f"{self.stream}:household:{index}")
        self.random = self.rng.random
        rng = self.rng
        village: _Village = self.village_pick(rng)
        positions = all_positions()
        plan = self.positioned_plan(*positions[index]) if index < len(positions) else self.plan()
        status = plan.status
        attribute = "01" if status == "not_identified" else (
            "01" if rng.random() < 0.9 else "02") if status == "removed" else _ATTRIBUTE(rng)
        cause = _TEKUN_CAUSE(rng) if attribute == "03" else _MAIN_CAUSE(rng)
        tekun = attribute == "03"
        # Households that left or are leaving poverty passed 一超过两不愁三保障 (exit_failures).
        exit_ready = status == "exited" or plan.exit_progress is not None or (
            status == "removed" and plan.exit_year is not None)

        people: list[_Person] = []
        for _attempt in range(8):
            kind = _WITH_CHILDREN(rng) if cause == "03" else _FAMILY(rng)
            people = self.family(village, attribute, kind)
            self.schooling(people, cause == "03")
            if cause != "03" or any(p.student not in (None, "01") for p in people):
                break
        else:
            cause = "09"
        self.health(people)
        if cause == "01" and not any(p.health in ("2", "3") for p in people):
            self.make_ill(people)
        if cause == "02" and not any(p.health == "4" for p in people):
            candidates = [p for p in people if p.health == "1"] or people
            self.disable(self.pick(candidates))
        if cause == "01" and not any(p.health in ("2", "3") for p in people):
            cause = "09"  # everyone is disabled already; 缺资金 fits such a household as well
        self.labour(people, tekun)
        self.migration(people, village, cause == "08" or tekun)
        for p in people:
            p.tekun = tekun
            p.insured = exit_ready or rng.random() < 0.995
        if attribute == "02":
            needy = [p for p in people if p.health != "1" or p.age >= 60] or [people[0]]
            for p in people if rng.random() < 0.6 else needy:
                p.dibao = True
        if status == "removed":
            reasons = self._removal_reasons(people)
        elif plan.removal_progress is not None:
            reasons = [_OPEN_REMOVAL_REASON(rng)]
        else:
            reasons = []

        hh = Household(village_code=village.code, id=self.uuid(), status=status,
                       household_no=f"{village.code}-DEMO-{village.next_no:04d}",
                       form_version=form_version(), rule_version=RULE_VERSION)
        village.next_no += 1
        relocated = status in ("registered", "exited", "returned") and rng.random() < 0.1
        hh.fields = self.household_fields(village, plan, attribute, cause, people, exit_ready, relocated)
        if reasons and status == "removed":
            hh.fields["exclusions"] = reasons
            hh.fields["review_note"] = "；".join(_REMOVAL_TEXT[r] for r in reasons)
        hh.members = [Member(id=self.uuid(), fields=self.member_fields(p)) for p in people]
        if status not in ("applicant", "not_identified"):
            for p, m in zip(people, hh.members, strict=True):
                if p.birth.year > plan.ident_year:
                    m.fields["change"] = "06"  # born after filing: added as 新生儿 in dynamic management
        self.incomes(hh, plan, people, attribute)
        ident_end = self.events(hh, village, plan, reasons)
        if status in ("registered", "exited", "returned", "removed") and ident_end is not None:
            self.helper(hh, village, ident_end, plan)
            self.measures(hh, plan, people, ident_end, relocated)
        return hh

    def _removal_reasons(self, people: list[_Person]) -> list[str]:
        rng = self.rng
        while True:
            reason = _REMOVAL_REASON(rng)
            if reason == "01":
                servants = [p for p in people if 22 <= p.age <= 55 and p.student is None and p.relation != "01"]
                if not servants:
                    continue
                servant = self.pick(servants)
                servant.public_servant, servant.migrant, servant.place, servant.months = True, None, "", 0
                servant.education = self.pick(("5", "6"))
            elif reason == "02":
                if not 25 <= people[0].age <= 65:
                    continue
                people[0].cadre = True
            return [reason]

    def household_fields(self, village: _Village, plan: _Plan, attribute: str, cause: str,
                         people: list[_Person], exit_ready: bool, relocated: bool) -> dict[str, Any]:
        rng = self.rng
        n = len(people)
        group = _NUMERALS[self.ri(0, village.groups - 1)] + "组"
        f: dict[str, Any] = {
            "group": group,
            "address": f"{village.township}{village.name}{group}{self.ri(1, 80)}号",
            "standard": "1",
            "attribute": attribute,
            "identification_year": plan.ident_year,
            "main_cause": cause,
        }
        if rng.random() < 0.9:
            f["phone"] = self.phone()
        f["bank_name"] = (f"贵州{self.county_name[:-1]}农村商业银行" if self.county[:2] == "52"
                          else f"{self.county_name}农村信用合作联社")
        f["bank_account"] = f"62{rng.getrandbits(64) % 10**17:017d}"
        if attribute == "03":
            f["tekun_mode"] = "1" if rng.random() < 0.9 else "2"
        if plan.status in ("exited", "removed") and plan.exit_year is not None:
            f["planned_exit_year"] = plan.exit_year
        elif plan.status in ("registered", "returned"):
            earliest = max(plan.ident_year + 1, 2016)
            f["planned_exit_year"] = (LAST_INCOME_YEAR if plan.exit_progress is not None or plan.status == "returned"
                                      else self.ri(earliest, max(earliest, LAST_INCOME_YEAR)))
        others = self.other_causes(cause, people)
        if others:
            f["other_causes"] = others
        kids = [p for p in people if p.relation in ("03", "04")]
        f["military_family"] = rng.random() < 0.01
        f["only_child"] = len(kids) == 1
        f["two_daughters"] = len(kids) == 2 and all(k.relation == "04" for k in kids)
        f["relocated"] = relocated
        if relocated:
            f["relocation_mode"] = "3" if rng.random() < 0.7 else "2"
            f["resettlement_mode"] = "1" if rng.random() < 0.95 else "2"
            f["resettlement_place"] = "1" if rng.random() < 0.7 else "2"
        arable = round(n * rng.uniform(0.3, 1.2), 1)
        f["arable_land"] = arable
        f["irrigated_land"] = round(arable * rng.uniform(0.3, 0.8), 1)
        f["forest_land"] = round(rng.uniform(1.0, 30.0), 1)
        if rng.random() < 0.3:
            f["returned_farmland"] = round(rng.uniform(0.3, 2.0), 1)
        if rng.random() < 0.4:
            f["orchard_land"] = round(rng.uniform(0.2, 3.0), 1)  # tea gardens (雷山银球茶)
        f["coop_member"] = rng.random() < 0.35
        f["enterprise_led"] = rng.random() < 0.2
        f["entrepreneur_led"] = rng.random() < 0.15
        f["production_power"] = rng.random() < 0.95
        f["household_power"] = True
        f["radio_tv"] = rng.random() < 0.9
        difficult = not (exit_ready or relocated) and rng.random() < 0.15
        f["water_difficult"] = difficult
        f["water_safe"] = exit_ready or relocated or (not difficult and rng.random() < 0.9)
        f["sanitary_toilet"] = relocated or rng.random() < 0.35
        if relocated:
            f["road_distance_km"] = round(rng.uniform(0.05, 0.5), 2)
            f["road_type"] = "3"
            f["housing_area"] = float(20 * n)  # 易地扶贫搬迁: 20 m² per person
            f["housing_grade"] = "A"
            f["fuel_type"] = "4"
        else:
            f["road_distance_km"] = round(rng.uniform(0.0, 3.0) if rng.random() < 0.85 else rng.uniform(3.0, 12.0), 1)
            f["road_type"] = _ROAD_TYPE(rng)
            f["housing_area"] = float(5 * self.ri(8, 36))  # wooden 吊脚楼 houses are roomy
            grade = _HOUSING_GRADE(rng)
            f["housing_grade"] = ("A" if rng.random() < 0.3 else "B") if exit_ready and grade in ("C", "D") else grade
            f["fuel_type"] = _FUEL(rng)
        f["food_clothing_secure"] = exit_ready or rng.random() < 0.9
        return f

    def other_causes(self, main: str, people: list[_Person]) -> list[str]:
        rng = self.rng
        wanted = self.pick((0, 1, 1, 2))
        ill = any(p.health in ("2", "3") for p in people)
        disabled = any(p.health == "4" for p in people)
        student = any(p.student not in (None, "01") for p in people)
        allowed = {"01": ill, "02": disabled, "03": student}
        out: list[str] = []
        for _ in range(12):
            if len(out) >= wanted:
                break
            cause = _OTHER_CAUSE(rng)
            if cause != main and cause not in out and allowed.get(cause, True):
                out.append(cause)
        return out

    # ---------------------------------------------------------------- income

    def ratios(self, plan: _Plan) -> dict[int, float]:
        """Per-capita income as a share of the year's line, for every recorded income year."""
        rng = self.rng
        ref = reference_year(plan.ident_year)
        status = plan.status
        if status in ("applicant", "not_identified"):
            first = {ref: rng.uniform(0.45, 0.92) if status == "applicant" else rng.uniform(0.9, 1.6)}
            if plan.monitoring is not None:  # a monitored ordinary household: its incomes since
                first.update({y: rng.uniform(0.9, 1.6) for y in range(ref + 1, self.income_end + 1)})
            return first
        last = plan.removal_year if status == "removed" and plan.removal_year else self.income_end
        above: set[int] = set()
        below: set[int] = {ref}
        if plan.exit_year is not None:
            end = (plan.return_year - 1) if plan.return_year else last
            above |= set(range(plan.exit_year, end + 1))
        if plan.return_year is not None:
            below |= set(range(plan.return_year, last + 1))
        if plan.exit_progress is not None:
            above.add(LAST_INCOME_YEAR)
            below.discard(LAST_INCOME_YEAR)
        if status == "registered" and plan.exit_progress is None:
            below |= set(range(ref, last + 1))
        out: dict[int, float] = {}
        ratio = rng.uniform(0.45, 0.9)
        for year in range(ref, last + 1):
            if year in above:
                ratio = max(ratio + rng.uniform(0.02, 0.15), rng.uniform(1.12, 1.5))
            elif year in below:
                ratio = min(ratio + rng.uniform(0.0, 0.08), 0.95) if year != plan.return_year else rng.uniform(0.5, 0.9)
            else:
                ratio = max(0.5, ratio + rng.uniform(-0.05, 0.2))
            out[year] = ratio
        return out

    def incomes(self, hh: Household, plan: _Plan, people: list[_Person], attribute: str) -> None:
        rng = self.rng
        n = len(people)
        dibao = sum(p.dibao for p in people)
        tekun = sum(p.tekun for p in people)
        elderly = sum(p.age >= 60 for p in people)
        away = any(p.migrant is not None for p in people)
        forest = float(hh.fields.get("forest_land") or 0)
        arable = float(hh.fields.get("arable_land") or 0)
        cap = 0.85 if attribute == "03" else 0.6
        farm_subsidy = rng.random() < 0.7
        dividends = rng.random() < 0.4
        rent = rng.random() < 0.03
        for year, ratio in self.ratios(plan).items():
            total = round(ratio * self.lines[year] * n)
            k = year - 2013
            fixed: dict[str, float] = {}
            if dibao:
                fixed["dibao_allowance"] = dibao * (90 + 20 * k) * 12 * rng.uniform(0.5, 1.0)
            if tekun:
                fixed["tekun_allowance"] = tekun * (180 + 35 * k) * 12 * rng.uniform(0.8, 1.0)
            if elderly:
                fixed["pension_income"] = elderly * (55 + 5 * k) * 12
            if forest:
                fixed["eco_compensation"] = forest * rng.uniform(8, 16)
            if farm_subsidy and arable:
                fixed["other_transfer_income"] = arable * rng.uniform(60, 100)
            if dividends and year >= 2017:
                fixed["dividend_income"] = rng.uniform(200, 800)
            if rent:
                fixed["other_property_income"] = rng.uniform(300, 2000)
            budget = cap * total
            scale = min(1.0, budget / sum(fixed.values())) if fixed else 1.0
            income: dict[str, float] = {key: float(max(1, round(v * scale))) for key, v in fixed.items()}
            rest = total - round(sum(income.values()))
            wages = max(1, round(rest * rng.uniform(0.45, 0.85))) if away else 0
            business = rest - wages
            if business < 0:  # rounding only: take it from the wages, which are far larger
                wages += business
                business = 0
            income["wage_income"] = float(wages)
            if business > 0:
                costs = round(business * rng.uniform(0.3, 0.8)) + 1
                income["business_income"] = float(business + costs)
                income["business_costs"] = float(costs)
            else:
                income["business_income"] = 0.0
            hh.years[year] = YearRecord(year, income=income)

    # ---------------------------------------------------------------- procedures

    def events(self, hh: Household, village: _Village, plan: _Plan, reasons: list[str]) -> int | None:
        """Appends the household's procedure history; returns the day identification completed."""
        year = plan.ident_year
        start = date(year, 3, 1).toordinal() + self.ri(0, 45 if year >= 2021 else 110)
        cursor = _Cursor(start - 1)
        ctx = {"village": village, "hh": hh}
        if plan.status == "not_identified":
            self.procedure(hh, "identification", None, cursor, ctx, lose_vote=True)
            if plan.monitoring is not None:
                self.monitoring(hh, plan.monitoring, cursor, ctx)
            return None
        self.procedure(hh, "identification", plan.stop, cursor, ctx)
        if plan.stop is not None:
            return None
        ident_end = cursor.day
        # Each later procedure opens in its own season of its year, after whatever came before.
        if plan.exit_year is not None:
            cursor.day = max(cursor.day, date(plan.exit_year, 9, 1).toordinal() + self.ri(0, 40))
            ctx["exit_year"] = plan.exit_year
            self.procedure(hh, "exit", None, cursor, ctx)
        if plan.return_year is not None:
            cursor.day = max(cursor.day, date(plan.return_year, 3, 1).toordinal() + self.ri(0, 90))
            self.procedure(hh, "return_to_poverty", None, cursor, ctx)
        if plan.removal_year is not None:
            cursor.day = max(cursor.day, date(plan.removal_year, 3, 1).toordinal() + self.ri(0, 120))
            ctx["reasons"] = reasons
            self.procedure(hh, "removal", None, cursor, ctx)
        if plan.removal_progress is not None:
            cursor.day = max(cursor.day, date(LAST_INCOME_YEAR, 3, 1).toordinal() + self.ri(0, 120))
            ctx["reasons"] = reasons
            self.procedure(hh, "removal", plan.removal_progress, cursor, ctx)
        if plan.return_progress is not None:
            cursor.day = max(cursor.day, date(LAST_INCOME_YEAR, 3, 1).toordinal() + self.ri(0, 90))
            self.procedure(hh, "return_to_poverty", plan.return_progress, cursor, ctx)
        if plan.exit_progress is not None:
            cursor.day = max(cursor.day, date(LAST_INCOME_YEAR, 9, 1).toordinal() + self.ri(0, 40))
            ctx["exit_year"] = LAST_INCOME_YEAR
            if plan.exit_progress == 0:
                self.procedure(hh, "exit", None, cursor, ctx, lose_vote=True)
            else:
                self.procedure(hh, "exit", plan.exit_progress, cursor, ctx)
        if plan.monitoring is not None:
            self.monitoring(hh, plan.monitoring, cursor, ctx)
        return ident_end

    def monitoring(self, hh: Household, position: tuple[str, int], cursor: _Cursor, ctx: dict[str, Any]) -> None:
        """防止返贫动态监测 as a team finds it on `today`: an identification under way that began in the
        last two weeks (within its 15-day time limit), or one decided about a year ago (within the
        limit) and an elimination begun two to three months ago, after more than six months in
        monitoring (it stays open: no threshold covers the later incomes of every province)."""
        procedure, done = position
        general = procedure.endswith("_general")
        identification = mon.IDENTIFICATIONS[general]
        channel = self.pick(("1", "2", "3"))
        ctx.update(channel=channel, risks=sorted(self.rng.sample(_MONITORING_RISKS, self.ri(1, 2))),
                   object_type=self.pick(("1", "2")) if general else "0")
        # Drawn the same way on every date (the same calls), placed before `today`.
        if procedure == identification:
            # 14 days at most from discovery to the decision (publicities of the demo's 7 days): its
            # steps fall on or before today, and today is within the 15 days of the time limit
            cursor.day = max(cursor.day, self.today_ord - 15 + self.ri(0, 1))
            self.procedure(hh, identification, done, cursor, ctx, fast=True)
            return
        cursor.day = max(cursor.day, self.today_ord - 400 + self.ri(0, 30))
        self.procedure(hh, identification, None, cursor, ctx, fast=True)
        decided = next(e for e in reversed(hh.events) if e.step == mon.DECISION_STEP)
        hh.fields.update(monitoring_type=ctx["object_type"], monitoring_risks=list(ctx["risks"]),
                         discovery_channel=channel, monitoring_month=decided.date[:4] + decided.date[5:7])
        if channel == "1":
            hh.fields["self_report_means"] = self.pick(("1", "2", "3"))
        cursor.day = max(cursor.day, self.today_ord - 100 + self.ri(0, 40))  # an elimination takes 54 days at most
        self.procedure(hh, procedure, done, cursor, ctx)

    def procedure(self, hh: Household, key: str, count: int | None, cursor: _Cursor, ctx: dict[str, Any],
                  lose_vote: bool = False, fast: bool = False) -> None:
        """The first `count` steps (all when None); with lose_vote, up to a lost appraisal vote. `fast`
        keeps a monitoring identification within its time limit (discovery to decision in 13 days)."""
        after_publicity = False
        for step in self.steps[key][:count]:
            if step.kind == "publicity":
                begin = cursor.day + (1 if fast else self.ri(1, 5))
                end = begin + self.publicity_days - 1 + (0 if fast else self.ri(0, 2))
                day = end + (0 if fast else self.ri(0, 1))
                span: tuple[int, int] | None = (begin, end)
            else:
                day = cursor.day + ((1 if after_publicity else self.ri(0, 1)) if fast else self.ri(1, 7))
                span = None
            after_publicity = span is not None
            lost = lose_vote and step.kind == "appraisal"
            evidence = self.evidence(step, day, span, ctx, lost=lost)
            role = step.roles[0]
            iso = _iso(day)
            hh.events.append(ProcedureEvent(
                procedure=key, step=step.key, date=iso, role=role, user=_USER_OF_ROLE.get(role, role),
                evidence=evidence, id=self.uuid(),
                recorded_at=f"{iso}T{self.ri(0, 9):02d}:{self.ri(0, 59):02d}:{self.ri(0, 59):02d}+00:00",
            ))
            cursor.day = day
            if lost:
                return  # a lost vote closes the procedure

    def evidence(self, step: StepSpec, day: int, span: tuple[int, int] | None, ctx: dict[str, Any],
                 lost: bool) -> dict[str, Any]:
        rng = self.rng
        village: _Village = ctx["village"]
        ev: dict[str, Any] = {}
        if step.kind == "appraisal":
            total = village.representatives
            present = self.ri(math.ceil(total * 2 / 3), total)
            if lost:
                votes_for = self.ri(0, present // 2)
                votes_against = self.ri(min(present // 2, present - votes_for), present - votes_for)
            else:
                votes_for = self.ri(present // 2 + 1, present)
                votes_against = self.ri(0, present - votes_for)
            ev.update(representatives_total=total, representatives_present=present, votes_for=votes_for,
                      votes_against=votes_against)
        if span is not None:
            objections = 0 if rng.random() < 0.85 else self.ri(1, 2)
            ev.update(start_date=_iso(span[0]), end_date=_iso(span[1]), objections=objections,
                      objections_resolved=objections)
        for f in step.evidence:
            if f.key in ev:
                continue
            value = self._evidence_value(step, f.key, date.fromordinal(day), ctx)
            if value is None and f.required:
                value = {"text": f.zh, "yes_no": True, "integer": f.min or 0, "date": _iso(day),
                         "multi_code": []}.get(f.kind)
            if value is not None:
                ev[f.key] = value
        keys = self.evidence_keys[step.procedure, step.key]
        return {k: v for k, v in ev.items() if k in keys}

    def _evidence_value(self, step: StepSpec, key: str, day: date, ctx: dict[str, Any]) -> Any:
        rng = self.rng
        year = day.year
        village: _Village = ctx["village"]
        proc = step.procedure
        if key == "minutes_ref":
            return f"{village.name}村民代表大会记录〔{year}〕{self.ri(1, 12)}号" if rng.random() < 0.7 else None
        if key == "posted_at":
            return self.pick((f"{village.name}村务公开栏", f"{village.name}村委会公示栏及各村民小组"))
        if key == "opinion":
            if proc in mon.PROCEDURES:
                return self.pick(_OPINIONS["elimination" if proc in mon.ELIMINATIONS else "monitoring"])
            return self.pick(_OPINIONS.get(proc, _OPINIONS["identification"]))
        if proc in mon.PROCEDURES:
            value = self._monitoring_value(key, ctx, year)
            if value is not None:
                return value
        if key == "document_no":
            # One approval document covers every household approved in the same half-month.
            return f"{self.abbr}扶贫领〔{year}〕{2 * day.month - (day.day <= 15)}号"
        if key == "notes":
            if proc == "exit":
                hh: Household = ctx["hh"]
                exit_year = ctx.get("exit_year", year)
                summary = summarize(hh, exit_year)
                line = self.lines.get(exit_year)
                if summary is None or summary.per_capita is None or line is None:
                    return None
                return (f"{exit_year} 年人均纯收入 {summary.per_capita:.0f} 元，超过当年标准 {line:.0f} 元；"
                        "不愁吃穿，义务教育、基本医疗、住房安全和饮水安全有保障")
            return self.pick(_APPLICATION_NOTES) if rng.random() < 0.5 else None
        if key == "reason":
            return self.pick(_EXIT_REASONS if proc == "exit" else _RETURN_REASONS)
        if key == "head_signed":
            return True
        if key == "reason_codes":
            return list(ctx.get("reasons") or ["03"])
        if key == "explanation":
            return "；".join(_REMOVAL_TEXT.get(r, r) for r in ctx.get("reasons") or ["03"])
        return None

    def _monitoring_value(self, key: str, ctx: dict[str, Any], year: int) -> Any:
        if key == "channel":
            return [ctx["channel"]]
        if key == "risks":
            return list(ctx["risks"])
        if key == "object_type":
            return [ctx["object_type"]]
        if key == "mode":
            return ["2"]
        if key == "notes":
            return _DISCOVERY_NOTES[ctx["channel"]]
        if key == "verifier_names":
            return "、".join(self.pick(_GIVEN_PAIRS))
        if key == "findings":
            return self.pick(_MONITORING_FINDINGS)
        if key == "form_ref":
            return f"监测采集〔{year}〕{self.ri(1, 99)}号"
        if key == "compared_with":
            return "财政、公安、不动产登记、社保、车辆管理部门"
        if key == "result":
            return "未发现财政供养、商品房、车辆等不符合纳入的情形"
        if key == "document_no":
            return f"{self.abbr}乡振〔{year}〕{self.ri(1, 40)}号"
        return None

    # ---------------------------------------------------------------- helpers and measures

    def helper(self, hh: Household, village: _Village, ident_end: int, plan: _Plan) -> None:
        pool = village.helpers
        if not pool or pool[-1][1] >= pool[-1][2]:
            # A helper serves several households: drawn from a stream of its own, it is the same
            # person whatever the households before it drew.
            with self.drawing_from(f"helper:{village.code}:{len(pool)}"):
                pool.append([self.new_helper(village, first=not pool), 0, self.ri(3, 5)])
        entry = pool[-1]
        entry[1] += 1
        row = dict(entry[0])
        row["start_date"] = _iso(min(ident_end + self.ri(5, 60), self.today_ord))
        if plan.status == "removed" and hh.events:
            row["end_date"] = hh.events[-1].date
        hh.helpers.append(row)

    def new_helper(self, village: _Village, first: bool) -> dict[str, Any]:
        rng = self.rng
        sex = "1" if rng.random() < 0.65 else "2"
        age = self.ri(26, 55)
        birth = self.birth(age)
        region = self.home_id_region if rng.random() < 0.6 else self.pick(self.near_regions)
        surname = _SURNAMES(rng)
        kind = "first" if first else _Pick([("county", 55), ("township", 25), ("village", 10), ("soe", 10)])(rng)
        county = self.county_name
        if kind in ("first", "county"):
            unit, unit_type, affiliation = f"{county}{self.pick(_COUNTY_UNITS)}", "1", "4"
            position = "驻村第一书记" if first else self.pick(("科员", "副主任科员", "副局长", "干部", "股长"))
        elif kind == "township":
            unit, unit_type, affiliation = f"{village.township}人民政府", "1", "5"
            position = self.pick(("副镇长" if village.township.endswith("镇") else "副乡长", "干部", "站长"))
        elif kind == "village":
            unit, unit_type, affiliation = f"{village.name}村民委员会", "7", "6"
            position = self.pick(("村委会委员", "村民小组长", "村支书"))
        else:
            unit = self.pick((f"中国农业银行{county}支行", f"中国邮政集团{county}分公司"))
            unit_type, affiliation, position = "4", "4", "职员"
        return {
            "name": surname + self.given_name(birth.year, sex),
            "sex": sex,
            "id_number": self.id_number(region, birth, sex),
            "phone": self.phone(),
            "unit_name": unit,
            "unit_type": unit_type,
            "affiliation": affiliation,
            "position": position,
            "first_secretary": first,
            "resident_member": first or rng.random() < 0.2,
        }

    def measures(self, hh: Household, plan: _Plan, people: list[_Person], ident_end: int, relocated: bool) -> None:
        rng = self.rng
        county = self.county_name
        vocational = any(p.student in ("09", "10", "11", "12", "13", "14") for p in people)
        available = ["01", "09", "08"]
        if any(p.migrant is not None for p in people):
            available.append("02")
        if any(p.student not in (None, "01") for p in people):
            available.append("05")
        if any(p.health != "1" for p in people):
            available.append("06")
        if any(p.dibao or p.tekun for p in people):
            available.append("10")
        if hh.fields.get("forest_land"):
            available.append("11")
        last = plan.removal_year if plan.removal_year is not None else LAST_INCOME_YEAR
        first = date.fromordinal(ident_end).year
        renovation_year = self.ri(first, last) if (
            hh.fields.get("housing_grade") in ("A", "B") and not relocated and rng.random() < 0.3) else None
        relocation_year = self.ri(max(first, 2016), max(last, 2016)) if relocated else None
        loan_taken = False
        for year in range(first, last + 1):
            lo = max(date(year, 4, 1).toordinal(), ident_end + 7)
            hi = date(year, 12, 20).toordinal()
            if lo > hi or year not in hh.years:
                continue
            codes = rng.sample(available, k=min(len(available), 1 + (rng.random() < 0.5) + (rng.random() < 0.2)))
            if year == renovation_year:
                codes.append("07")
            if year == relocation_year:
                codes.append("03")
            rows = []
            for code in codes:
                if code == "01":
                    row = (self.pick(("茶园种植补助", "生猪养殖补助", "稻田养鱼补助", "食用菌种植补助", "黄牛养殖补助")),
                           "农业农村局", self.money(500, 5000, 100))
                elif code == "09":
                    row = (self.pick(("改厨改厕补助", "安全饮水工程入户", "庭院硬化")), "住房和城乡建设局",
                           self.money(500, 3000, 100))
                elif code == "08":
                    # The 5万元 扶贫特惠贷 is taken once; later years see the crop insurance premium.
                    row = (("农业保险保费补贴", "农业农村局", self.money(60, 300, 10)) if loan_taken
                           else ("扶贫特惠贷（5 万元，三年期财政贴息）", "", 50000.0))
                    loan_taken = True
                elif code == "02":
                    row = (self.pick(("外出务工交通补贴", "劳动力转移就业培训补贴")), "人力资源和社会保障局",
                           self.money(300, 1000, 50))
                elif code == "05":
                    row = (("雨露计划助学补助", "教育局", 3000.0) if vocational
                           else ("义务教育“两免一补”及营养改善计划", "教育局", self.money(600, 1600, 100)))
                elif code == "06":
                    row = (self.pick(("住院费用医疗救助", "慢性病门诊报销", "家庭医生签约服务")), "卫生健康局",
                           self.money(200, 8000, 100))
                elif code == "10":
                    income = hh.years[year].income
                    row = (("农村最低生活保障金", "民政局", income.get("dibao_allowance") or 0.0)
                           if hh.fields.get("attribute") == "02"
                           else ("特困人员供养金", "民政局", income.get("tekun_allowance") or 0.0))
                elif code == "11":
                    row = (self.pick(("生态公益林补偿", "退耕还林补助")), "林业局", self.money(100, 1200, 50))
                elif code == "07":
                    row = ("农村危房改造补助", "住房和城乡建设局", self.money(15000, 35000, 500))
                else:
                    row = (f"易地扶贫搬迁安置（{len(people)} 人，人均 20 平方米）", "生态移民局", 0.0)
                content, unit, amount = row
                rows.append({"measure_type": code, "content": content,
                             "unit": county + unit if unit else hh.fields.get("bank_name", ""),
                             "date": _iso(self.ri(lo, hi)), "amount": float(amount)})
            hh.years[year].measures = rows


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Nothing built here forms a reference cycle, yet the cyclic collector would rescan every dict
    made so far again and again: a third of the time for a county of 100,000 households."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def generate(region_code: str, count: int, seed: int, today: date,
             progress: Callable[[int, int], None] | None = None) -> list[Household]:
    """`count` synthetic households spread over a village, township or county; the same for a seed.

    Every household passes every rule on `today` and for two years after (ages cross no rule's
    threshold in that time), and its procedure history replays legally to its status. Raises BadInput for a malformed region or a `today` earlier
    than the demo's story (the last steps fall in the first half of 2021).
    """
    regions.validate_workspace_region(region_code)
    if today < EARLIEST_TODAY:
        raise BadInput(Text(f"演示数据的办理日期延续到 2021 年上半年，今天的日期不能早于 {EARLIEST_TODAY}",
                            f"the demo's procedures run into the first half of 2021; today cannot be "
                            f"before {EARLIEST_TODAY}"))
    if count < 0:
        raise BadInput(Text("户数不能为负数", "the number of households cannot be negative"))
    gen = _Generator(region_code, seed, today)
    out: list[Household] = []
    with _collector_paused():
        for done in range(1, count + 1):
            out.append(gen.household(done - 1))
            if progress is not None and (done % 1000 == 0 or done == count):
                progress(done, count)
    return out


# ------------------------------------------------------------------------------------ planted mistakes


@dataclass(frozen=True)
class PlantedMistake:
    """One finding plant_mistakes expects the rules to report, and what was done to cause it."""

    rule: str
    household_id: str
    member_id: str | None
    description_zh: str
    description_en: str


def plant_mistakes(households: list[Household], seed: int) -> list[PlantedMistake]:
    """Plants one deliberate mistake of each documented kind (docs/demo.md), each in its own household.

    Returns one PlantedMistake per finding the rules must now report. A kind is skipped when no
    household suits it (a very small demo), so the list is the truth for these households.
    """
    with _collector_paused():
        return _plant(households, random.Random(f"povdesk-demo-mistakes:{seed}"))


def _plant(households: list[Household], rng: random.Random) -> list[PlantedMistake]:
    taken: set[str] = set()
    out: list[PlantedMistake] = []

    # The first match in one shuffled order is a fair pick among all matches, and a county of
    # 100,000 households is scanned only until one turns up.
    order = list(households)
    rng.shuffle(order)

    def choose(test: Callable[[Household], bool]) -> Household | None:
        for hh in order:
            if hh.id not in taken and test(hh):
                taken.add(hh.id)
                return hh
        return None

    def plant(rule: str, hh: Household, member: Member | None, zh: str, en: str) -> None:
        out.append(PlantedMistake(rule, hh.id, member.id if member else None, zh, en))

    # ID-INVALID: a mistyped check digit.
    hh = choose(lambda h: len(h.members) >= 2)
    if hh is not None:
        m = hh.members[1]
        number = m.fields["id_number"]
        m.fields["id_number"] = number[:17] + rng.choice([c for c in "0123456789X" if c != number[17]])
        plant("ID-INVALID", hh, m, "身份证号校验位录错", "ID number typed with a wrong check digit")

    # HH-HEAD: the spouse also entered as head.
    hh = choose(lambda h: any(m.relation == "02" for m in h.members))
    if hh is not None:
        spouse = next(m for m in hh.members if m.relation == "02")
        spouse.fields["relation"] = "01"
        plant("HH-HEAD", hh, None, "配偶的与户主关系误录为“户主”，一户两个户主",
              "the spouse entered as head too: two heads in one household")

    # ID-SEX: a head living without a spouse entered with the wrong sex (no relation implies one).
    hh = choose(lambda h: not any(m.relation == "02" for m in h.members) and h.members[0].relation == "01")
    if hh is not None:
        head = hh.members[0]
        head.fields["sex"] = "2" if head.fields["sex"] == "1" else "1"
        plant("ID-SEX", hh, head, "户主性别录反，与身份证号第 17 位不符",
              "the head's sex entered wrongly: it disagrees with the 17th digit of the ID number")

    # INC-LINE: an applicant's reference-year income above the line (rent income overlooked).
    hh = choose(lambda h: h.status == "applicant" and isinstance(h.fields.get("identification_year"), int)
                and reference_year(h.fields["identification_year"]) in h.years)
    if hh is not None:
        ref = reference_year(hh.fields["identification_year"])
        summary = summarize(hh, ref)
        line = poverty_line(ref, hh.fields.get("standard"))
        if summary is not None and summary.per_capita is not None and line is not None:
            extra = (line.line - summary.per_capita + rng.randint(300, 900)) * float(household_size(hh))
            income = hh.years[ref].income
            income["other_property_income"] = float(round((income.get("other_property_income") or 0) + extra))
            plant("INC-LINE", hh, None, f"申请户 {ref} 年有房屋出租收入，人均纯收入超过当年贫困线",
                  f"an applicant's {ref} income includes rent that lifts it above that year's poverty line")

    # DIBAO-MEMBER: a 低保 household whose members' 低保 flags were all cleared.
    hh = choose(lambda h: h.fields.get("attribute") == "02")
    if hh is not None:
        for m in hh.members:
            m.fields["dibao"] = False
        plant("DIBAO-MEMBER", hh, None, "低保贫困户的成员都没有标注“享受低保”",
              "a dibao household in which no member is marked as receiving dibao")

    # DUP-PERSON: someone who moved registered again in another village's household, never deregistered.
    def movable(m: Member) -> bool:
        f = m.fields
        # Nothing about the person may trip another rule in the second household: no work away
        # (INC-WAGE), no benefits (ORDINARY-BENEFIT), no public post (EXCLUSION).
        return (m.relation not in ("01", "02") and not f.get("migrant_months") and not f.get("dibao")
                and not f.get("tekun") and not f.get("change") and f.get("labour") is not None
                and not f.get("public_servant") and not f.get("village_cadre"))

    source = choose(lambda h: any(movable(m) for m in h.members))
    if source is not None:
        target = choose(lambda h: h.village_code != source.village_code and h.fields.get("attribute") == "01") or \
            choose(lambda h: h.fields.get("attribute") == "01")
        if target is None:
            taken.discard(source.id)
        else:
            moved = rng.choice([m for m in source.members if movable(m)])
            copy = Member(id=_uuid4(rng.getrandbits(128)),
                          fields={**moved.fields, "relation": "99"})
            target.members.append(copy)
            zh = f"同一人同时登记在 {source.household_no} 和 {target.household_no}（迁入后未从原户注销）"
            en = (f"the same person registered in {source.household_no} and {target.household_no} "
                  "(moved in without being removed from the old household)")
            plant("DUP-PERSON", source, moved, zh, en)
            plant("DUP-PERSON", target, copy, zh, en)

    # HELPER-PHONE: one helper's phone typed as another helper's.
    rows: dict[str, list[Household]] = {}
    for h in households:
        for helper in h.helpers:
            rows.setdefault(helper.get("phone") or "", []).append(h)
    phones = sorted((p for p, hs in rows.items() if p and all(x.id not in taken and len(x.helpers) == 1 for x in hs)),
                    key=lambda p: (len(rows[p]), p))
    if len(phones) >= 2:
        phone, others = phones[0], set(phones[1:])
        hh = choose(lambda h: len(h.helpers) == 1 and h.helpers[0].get("phone") in others)
        if hh is not None:
            owners = rows[phone]
            taken.update(x.id for x in owners)
            hh.helpers[0]["phone"] = phone
            other = owners[0].helpers[0].get("name")
            for x in [*owners, hh]:
                plant("HELPER-PHONE", x, None,
                      f"帮扶责任人“{hh.helpers[0].get('name')}”的电话误录为“{other}”的号码 {phone}",
                      f"helper '{hh.helpers[0].get('name')}' has the phone of helper '{other}' ({phone})")

    # F-RANGE: 13 months of migrant work in one year.
    hh = choose(lambda h: any((m.fields.get("migrant_months") or 0) > 0 for m in h.members))
    if hh is not None:
        m = next(m for m in hh.members if (m.fields.get("migrant_months") or 0) > 0)
        m.fields["migrant_months"] = 13
        plant("F-RANGE", hh, m, "务工时间录为 13 个月", "13 months of migrant work in a year")

    # CAUSE-ILL: 因病 chosen as the main cause where nobody is ill.
    hh = choose(lambda h: h.fields.get("main_cause") != "01" and "01" not in (h.fields.get("other_causes") or [])
                and not any(m.fields.get("health") in ("2", "3") for m in h.members if counts_in_household(m)))
    if hh is not None:
        hh.fields["main_cause"] = "01"
        plant("CAUSE-ILL", hh, None, "主要致贫原因录为“因病”，但家中无人患病",
              "main cause 'illness' but nobody in the household is ill")

    # ID-15: an old 15-digit number copied from a first-generation ID card; it upgrades to the
    # very same 18-digit number, so region, sex and birth date all still agree.
    hh = choose(lambda h: h.members[0].birth_date is not None and 1900 <= h.members[0].birth_date.year <= 1999
                and len(h.members[0].id_number) == 18)
    if hh is not None:
        head = hh.members[0]
        number = head.fields["id_number"]
        head.fields["id_number"] = number[:6] + number[8:17]
        plant("ID-15", hh, head, "户主身份证号仍为 15 位旧号码", "the head's ID number is still the old 15-digit one")

    # ROAD-DISTANCE (a warning): 60 km to the main road, with no explanation recorded.
    hh = choose(lambda h: not h.fields.get("explanations"))
    if hh is not None:
        hh.fields["road_distance_km"] = 60.0
        plant("ROAD-DISTANCE", hh, None, "与村主干路距离录为 60 公里（应为 6.0），未填写说明",
              "60 km to the village main road (meant 6.0), with no explanation")
    return out
