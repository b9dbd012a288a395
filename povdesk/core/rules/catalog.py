"""Every validation rule: id, reach, severity and its message in Chinese and English.

Severity "error" blocks the steps of the procedures the rule names in `blocks` (every procedure
unless it says otherwise); "warning" needs a recorded explanation. A finding that is the reason
for a removal (清退: an exclusion criterion, income above the line at identification, a person
registered twice, no helper) does not block the removal meant for exactly that case.
Sources are in docs/domain.md (mostly the 2017 national data-cleaning rules).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from povdesk.core.monitoring import ELIMINATIONS, PROCEDURES
from povdesk.i18n import Text

REACHES = ("field", "household", "across")
# What a finding that is itself a reason for removal (清退) blocks: every procedure but removal.
NOT_REMOVAL = ("identification", "exit", "return_to_poverty")
SEVERITIES = ("error", "warning")
# What a monitoring finding blocks: the monitoring procedures (all of them, or the eliminations).
MONITORING = PROCEDURES
ELIMINATION = ELIMINATIONS


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    reach: str
    severity: str
    zh: str
    en: str
    blocks: tuple[str, ...] = ("*",)  # procedure keys whose steps its errors block; "*": all

    def blocks_procedure(self, procedure: str) -> bool:
        return "*" in self.blocks or procedure in self.blocks

    def text(self, **values: object) -> Text:
        """The message with values filled in; a Text value gives each language its own words."""
        zh = {k: v.zh if isinstance(v, Text) else v for k, v in values.items()}
        en = {k: v.en if isinstance(v, Text) else v for k, v in values.items()}
        return Text(self.zh.format(**zh), self.en.format(**en))


_ALL = [
    # ---- field reach: generic checks driven by the form specs
    Rule("F-REQUIRED", "field", "error", "{label}：必须填写", "{label}: required"),
    Rule("F-TYPE", "field", "error", "{label}：格式不正确（{value}）", "{label}: not a valid {kind} ({value})"),
    Rule("F-CODE", "field", "error", "{label}：代码“{value}”不在代码表中", "{label}: '{value}' is not a known code"),
    Rule("F-RANGE", "field", "error", "{label}：{value} 超出范围 {min}～{max}", "{label}: {value} is outside {min} to {max}"),
    Rule("F-MAX-ITEMS", "field", "error", "{label}：最多选择 {max} 项", "{label}: at most {max} choices"),
    Rule("F-LENGTH", "field", "error", "{label}：超过 {max} 个字", "{label}: longer than {max} characters"),
    Rule("F-PATTERN", "field", "error", "{label}：格式不正确", "{label}: wrong format"),
    Rule("F-PHONE", "field", "error", "{label}：应为 11 位手机号码", "{label}: must be an 11-digit phone number"),
    Rule("ID-INVALID", "field", "error", "证件号码无效：{reason}", "ID number invalid: {reason}"),
    Rule("ID-15", "field", "error", "15 位旧身份证号须升级为 18 位（应为 {upgraded}）",
         "15-digit legacy ID number must be upgraded to 18 digits ({upgraded})"),
    Rule("ID-REGION", "field", "warning", "身份证号地址码 {region} {why}", "ID number region code {region} {why}"),
    Rule("ID-SEX", "field", "error", "性别与身份证号不符（身份证号为{id_sex}）", "sex does not match the ID number ({id_sex})"),
    Rule("ID-BIRTH", "field", "error", "出生日期与身份证号不符（身份证号为 {id_birth}）",
         "date of birth does not match the ID number ({id_birth})"),
    Rule("BIRTH-FUTURE", "field", "error", "出生日期 {value} 晚于今天", "date of birth {value} is in the future"),
    # ---- household reach: members within their household
    Rule("REL-SEX", "household", "error", "与户主关系“{relation}”与性别不符", "relation '{relation}' does not match the sex"),
    Rule("HEAD-SPOUSE-SEX", "household", "error", "户主与配偶性别相同", "the head and the spouse are of the same sex"),
    Rule("REL-AGE", "household", "error", "“{relation}”的年龄（{age} 岁）与户主（{head_age} 岁）不合",
         "age of '{relation}' ({age}) is impossible next to the head ({head_age})"),
    Rule("REL-AGE-GAP", "household", "warning", "“{relation}”与户主年龄仅相差 {gap} 岁",
         "'{relation}' is only {gap} years apart from the head"),
    Rule("EDU-ONE", "household", "error", "文化程度与在校生状况须填且只填一项", "fill exactly one of education level and current schooling"),
    Rule("EDU-AGE-HIGH", "household", "error", "{age} 岁不应在读{level}", "aged {age}, cannot be at {level}"),
    Rule("EDU-AGE-LOW", "household", "error", "{age} 岁不应在读{level}", "aged {age}, cannot be at {level}"),
    Rule("EDU-PRESCHOOL", "household", "error", "{age} 岁不是学龄前儿童", "aged {age}, not a pre-school child"),
    Rule("EDU-DROPOUT", "household", "warning", "{age} 岁义务教育阶段未在校，须说明失学原因",
         "aged {age}, of compulsory-school age and not in school: record why"),
    Rule("LAB-REQUIRED", "household", "error", "16～65 岁须填写劳动技能", "labour ability is required for ages 16 to 65"),
    Rule("LAB-HEALTHY", "household", "error", "{age} 岁身体健康，劳动技能不应为“{labour}”",
         "aged {age} and healthy, labour ability cannot be '{labour}'"),
    Rule("MIG-PLACE", "household", "error", "务工所在地与务工时间不一致", "place of work and months worked away disagree"),
    Rule("MIG-ABLE", "household", "error", "无劳动能力者不应有外出务工", "a person without labour ability cannot work away"),
    Rule("HH-HEAD", "household", "error", "户主人数为 {count}，应为 1 人", "{count} heads of household; there must be exactly one"),
    Rule("HH-SPOUSE", "household", "error", "配偶人数为 {count}，最多 1 人", "{count} spouses; at most one"),
    Rule("HH-EMPTY", "household", "error", "户内无实际居住人口（空挂户）", "nobody lives in the household (空挂户)"),
    Rule("HH-DUP-ID", "household", "error", "同一证件号码在本户出现 {count} 次", "the same ID number appears {count} times in this household"),
    Rule("CAUSE-ILL", "household", "error", "致贫原因含“因病”，但无长期慢性病或大病成员",
         "cause 'illness' but no member has a chronic or serious illness"),
    Rule("CAUSE-DISABLED", "household", "error", "致贫原因含“因残”，但无残疾成员", "cause 'disability' but no member is disabled"),
    Rule("CAUSE-SCHOOL", "household", "error", "致贫原因含“因学”，但无在校生", "cause 'schooling' but no member is a student"),
    Rule("CAUSE-OTHER-DUP", "household", "error", "其他致贫原因不能与主要致贫原因相同",
         "other causes must differ from the main cause"),
    Rule("DIBAO-MEMBER", "household", "error", "低保贫困户须有享受低保的成员且低保金大于 0",
         "a dibao household needs a member receiving dibao and a dibao allowance above 0"),
    Rule("ORDINARY-BENEFIT", "household", "error", "一般贫困户不应有低保成员、低保金或五保金",
         "an ordinary poor household cannot have dibao members, dibao or five-guarantee allowances"),
    Rule("TEKUN-LABOUR", "household", "error", "特困供养户不应有 16～65 岁有劳动能力的成员",
         "an extreme-poverty-support household cannot have a member aged 16-65 able to work"),
    Rule("TEKUN-ALLOWANCE", "household", "error", "特困供养户五保金（特困供养金）应大于 0",
         "an extreme-poverty-support household must receive the allowance"),
    Rule("DIBAO-TEKUN-BOTH", "household", "error", "不能同时享受低保金和五保金", "cannot receive both dibao and five-guarantee allowances"),
    Rule("INC-WAGE", "household", "warning", "{year} 年工资性收入与外出务工情况不一致",
         "{year}: wage income and migrant work disagree"),
    Rule("INC-BUSINESS-COST", "household", "error", "{year} 年有生产经营性收入但无生产经营性支出",
         "{year}: business income without business costs"),
    Rule("INC-RANGE", "household", "error", "{year} 年人均纯收入 {value} 元不在 0～100000 元之间",
         "{year}: per-capita net income {value} yuan is outside 0 to 100,000"),
    Rule("INC-MISSING", "household", "error", "缺少 {year} 年收入（{ident} 年识别的参考年度）",
         "no income recorded for {year}, the reference year of the {ident} identification", blocks=NOT_REMOVAL),
    Rule("INC-LINE", "household", "error", "{year} 年人均纯收入 {value} 元高于当年贫困线 {line} 元",
         "{year}: per-capita net income {value} yuan is above that year's line of {line} yuan", blocks=NOT_REMOVAL),
    Rule("INC-NO-LINE", "household", "warning", "{text}", "{text}"),
    Rule("LAND-ARABLE", "household", "warning", "人均耕地 {value} 亩，超过 50 亩", "arable land {value} mu per person, above 50"),
    Rule("LAND-FOREST", "household", "warning", "人均林地 {value} 亩，超过 70 亩", "forest land {value} mu per person, above 70"),
    Rule("ROAD-DISTANCE", "household", "warning", "与村主干路距离 {value} 公里，超过 50 公里",
         "{value} km to the village main road, above 50"),
    Rule("HOUSING-AREA", "household", "warning", "住房面积为空或为 0，但住房等级不是“无住房”",
         "housing area empty or 0 but the grade is not 'no house'"),
    Rule("EXCLUSION", "household", "error", "符合不得纳入情形：{what}", "meets an exclusion criterion: {what}", blocks=NOT_REMOVAL),
    Rule("HELPER-NONE", "household", "error", "已识别的贫困户没有帮扶责任人", "a registered poor household has no assigned helper", blocks=NOT_REMOVAL),
    # ---- household reach: 防止返贫动态监测 (the checks of the national monitoring system's exports)
    Rule("MON-ELIM-EARLY", "household", "warning", "识别监测（{start}）至风险消除（{end}）不足 {min} 个月",
         "risk eliminated ({end}) less than {min} months after identification ({start})"),
    Rule("MON-ILL-EXPENSE", "household", "error", "风险含“因病”，但 {year} 年合规自付支出为 0 或未填",
         "risk 'illness' but the compliant out-of-pocket spending for {year} is 0 or not recorded", blocks=MONITORING),
    Rule("MON-WORK-LABOUR", "household", "error", "风险含“因务工就业不稳”，但{why}",
         "risk 'unstable work' but {why}", blocks=MONITORING),
    Rule("MON-WATER-MEASURE", "household", "error", "风险含“因安全饮水”，但没有“饮水安全保障”帮扶措施",
         "risk 'unsafe drinking water' but no 'safe drinking water secured' measure", blocks=ELIMINATION),
    Rule("MON-LABOUR-ALL", "household", "error", "风险含“因缺劳动力”，但家庭成员都有劳动能力",
         "risk 'lack of labour' but every member is able to work", blocks=MONITORING),
    Rule("MON-ASSISTED-BELOW", "household", "error",
         "帮扶消除（{month}），但 {year} 年人均纯收入 {value} 元未超过{line_zh} {line} 元",
         "eliminated with assistance ({month}) but the {year} per-capita income of {value} yuan is not above "
         "{line_en} of {line} yuan", blocks=ELIMINATION),
    Rule("MON-NO-LINE", "household", "warning", "{text}", "{text}"),
    Rule("MON-ELIM-NO-LABOUR", "household", "warning", "家庭成员都没有劳动能力，落实兜底保障后应继续监测，不标注风险消除",
         "nobody in the household can work: it stays monitored once social protection is in place, not eliminated"),
    Rule("MON-TYPE-STATUS", "household", "error", "监测对象类别“{type}”与户状态“{status}”不符",
         "monitoring type '{type}' does not fit the household status '{status}'", blocks=MONITORING),
    Rule("MON-OVERDUE", "household", "warning", "从发现（{start}）到县级审定（{end}）用了 {days} {unit_zh}，超过 {limit} {unit_zh}",
         "{days} {unit_en} from discovery ({start}) to the county's decision ({end}), more than {limit}"),
    Rule("MON-ELIM-UNIDENTIFIED", "household", "error", "“{procedure}”之前没有完成的监测对象识别",
         "'{procedure}' without a completed identification as a monitoring object before it", blocks=ELIMINATION),
    # ---- across households
    Rule("DUP-PERSON", "across", "error", "证件号码 {id} 同时登记在户 {others}", "ID number {id} is also registered in {others}", blocks=NOT_REMOVAL),
    Rule("HELPER-PHONE", "across", "error", "帮扶责任人“{name}”的电话 {phone} 与“{other}”相同",
         "helper '{name}' has the same phone {phone} as '{other}'"),
    Rule("HELPER-IS-POOR", "across", "error", "帮扶责任人“{name}”本人登记为贫困人口（户 {other}）",
         "helper '{name}' is registered as a poor person (household {other})"),
]

RULES: dict[str, Rule] = {r.id: r for r in _ALL}


def blocking(findings: Iterable[Any], procedure: str) -> list[Any]:
    """The findings (errors, not explained) that block the steps of `procedure`."""
    return [f for f in findings if f.severity == "error" and not f.explained
            and (RULES[f.rule].blocks_procedure(procedure) if f.rule in RULES else True)]
