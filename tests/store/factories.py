"""Households for store tests, built directly from the model."""

from __future__ import annotations

from povdesk.core.model import Household, Member, YearRecord

VILLAGE = "430105001001"
OTHER_VILLAGE = "430105002003"


def household(village: str = VILLAGE, *names: str, ids: tuple[str, ...] = (), no: str = "") -> Household:
    """A household whose first member is the head; ids give the members' ID numbers in order."""
    names = names or ("张三", "李四")
    members = []
    for i, name in enumerate(names):
        fields = {"name": name, "relation": "01" if i == 0 else "10", "sex": "1"}
        if i < len(ids):
            fields["id_number"] = ids[i]
        members.append(Member(fields=fields))
    return Household(
        village_code=village, household_no=no,
        fields={"address": "一组", "attribute": "1", "main_cause": "04", "other_causes": ["01", "02"],
                "housing_area": 60.5, "relocated": False},
        members=members,
        years={2024: YearRecord(2024, {"wage_income": 3000.0, "business_income": 1200}, [{"measure": "01"}])},
        helpers=[{"name": "王干部", "phone": "13800000000"}],
    )
