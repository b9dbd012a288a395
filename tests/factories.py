"""A valid household to start tests from; each test changes one thing and looks for one finding."""

from __future__ import annotations

from datetime import date

from povdesk.core.idnumber import make
from povdesk.core.model import Household, Member, YearRecord

TODAY = date(2026, 6, 1)
REGION = "522634"
VILLAGE = "522634100201"


def person(name: str, sex: str, birth: date, relation: str, seq: int, **fields: object) -> Member:
    base: dict[str, object] = {
        "name": name,
        "sex": sex,
        "id_type": "1",
        "id_number": make(REGION, birth, seq if (seq % 2 == 1) == (sex == "1") else seq + 1),
        "birth_date": birth.isoformat(),
        "relation": relation,
        "ethnicity": "06",
        "health": "1",
        "rural_medical": True,
        "critical_illness": True,
    }
    base.update(fields)
    return Member(fields=base)


def valid_household(status: str = "applicant") -> Household:
    """Four people, identified in 2016 on 2015 incomes below the 2,855-yuan line."""
    hh = Household(village_code=VILLAGE, household_no=f"{VILLAGE}-TEST-0001", status=status)
    hh.fields = {
        "group": "一组",
        "address": "丹江镇一组12号",
        "phone": "13800001234",
        "standard": "1",
        "attribute": "01",
        "identification_year": 2016,
        "main_cause": "07",
        "other_causes": ["09"],
        "arable_land": 3.5,
        "forest_land": 6.0,
        "production_power": True,
        "household_power": True,
        "radio_tv": True,
        "water_difficult": False,
        "water_safe": True,
        "sanitary_toilet": False,
        "road_distance_km": 1.5,
        "road_type": "2",
        "housing_area": 80.0,
        "housing_grade": "B",
        "fuel_type": "1",
        "food_clothing_secure": True,
    }
    hh.members = [
        person("杨光明", "1", date(1975, 3, 12), "01", 11, education="2", labour="1",
               migrant_status="4", migrant_place="浙江省宁波市", migrant_months=8),
        person("吴秀英", "2", date(1977, 8, 2), "02", 22, education="1", labour="1"),
        person("杨志强", "1", date(2004, 1, 9), "03", 33, student_status="15", labour="1"),
        person("杨小梅", "2", date(2012, 10, 30), "04", 44, student_status="04"),
    ]
    hh.years = {
        2015: YearRecord(2015, income={
            "wage_income": 6000.0,
            "business_income": 3000.0,
            "business_costs": 1200.0,
            "eco_compensation": 300.0,
        }),
    }
    hh.helpers = [{"name": "龙建国", "phone": "13908550001", "unit_name": "雷山县农业农村局", "start_date": "2016-03-01"}]
    return hh
