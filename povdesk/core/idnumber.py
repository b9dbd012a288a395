"""Resident ID numbers (GB 11643): normalise, parse, check, upgrade, mask and build them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Final

from stdnum.cn import ric

from povdesk.core import regions
from povdesk.errors import BadInput
from povdesk.i18n import Text, tr

REASONS: Final = (
    "empty",
    "excel_mangled",
    "bad_chars",
    "bad_length",
    "bad_province",
    "bad_date",
    "future_date",
    "bad_check",
    "bad_disability_suffix",
)

# An older year is a typo, not a person. 1880 rather than a tighter bound because GB 11643's own
# example number (440524188001010014) has that year; how old a living member can plausibly be is
# a household rule, not a property of the number.
EARLIEST_BIRTH_YEAR: Final = 1880

# 残疾人证 (second generation): the 19th digit is the category, the 20th the grade.
DISABILITY_TYPES: Final = {
    "1": ("视力", "visual"),
    "2": ("听力", "hearing"),
    "3": ("言语", "speech"),
    "4": ("肢体", "physical"),
    "5": ("智力", "intellectual"),
    "6": ("精神", "mental"),
    "7": ("多重", "multiple"),
}
DISABILITY_GRADES: Final = ("1", "2", "3", "4")

# Shapes a spreadsheet leaves behind once it has treated an ID number as a number: scientific
# notation, a decimal tail, thousands separators. Digits past the 15th are already gone by then.
_SCIENTIFIC = re.compile(r"^\d+(?:\.\d*)?E[+-]?\d+$", re.IGNORECASE)
_DECIMAL = re.compile(r"^\d+\.\d*$")
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d*)?$")


class IdNumberError(BadInput):
    """An ID number that cannot be accepted; `reason` is one of REASONS."""

    def __init__(self, reason: str, text: Text, *, value: str = "", where: str | None = None) -> None:
        assert reason in REASONS, reason
        self.reason = reason
        self.value = value
        super().__init__(text, where=where)


@dataclass(frozen=True, slots=True)
class IdInfo:
    number: str  # the normalised 18-character number (upgraded when the input had 15 digits)
    region_code: str
    birth_date: date
    sex: str  # "1" male, "2" female (GB/T 2261.1), from the parity of the 17th digit
    legacy15: bool = False
    disability_suffix: str | None = None  # category 1-7 + grade 1-4 of a 20-digit 残疾人证号

    @property
    def sequence(self) -> str:
        return self.number[14:17]


def normalize(raw: str) -> str:
    """Full-width to ASCII, all whitespace removed, x upper-cased; nothing else is changed."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(ch for ch in text if not ch.isspace()).replace("x", "X")


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    # stdnum's calc_check_digit expects the full number and ignores its last character.
    return ric.calc_check_digit(first17 + "0")


def upgrade15(number15: str) -> str:
    """The 18-digit form of a GB 11643-1989 number: "19" before the year plus a check digit."""
    if len(number15) != 15 or not number15.isascii() or not number15.isdigit():
        raise ValueError(f"expected 15 digits, got {number15!r}")
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + check_digit(first17)


def make(region: str, birth: date, sequence: int) -> str:
    """A valid 18-digit number; an odd sequence makes a man, an even one a woman."""
    if len(region) != 6 or not region.isascii() or not region.isdigit():
        raise ValueError(f"region must be 6 digits, got {region!r}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0-999, got {sequence}")
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)


def masked_text(text: str) -> str:
    """Any text that may hold an ID number (as a spreadsheet mangled it, say) with its middle
    starred as mask() does: first 6 and last 4 characters kept, nothing kept of a short one."""
    if len(text) < 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask(number: str) -> str:
    """The number as printed on public lists: first 6 and last 4 kept, the rest starred."""
    number = normalize(number)
    if len(number) < 10:
        # Too short to keep both ends without showing most of it: hide everything.
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def parse(raw: str | int | float, *, today: date) -> IdInfo:
    """Check an ID number as typed or imported and return what it encodes.

    Accepts 18-digit numbers, 15-digit legacy numbers (returned upgraded, `legacy15=True`) and
    20-digit disability certificate numbers. Raises IdNumberError saying exactly what is wrong.
    `today` is the day a birth date may not be after (see povdesk.clock).
    """
    if isinstance(raw, int | float):
        # An integer in Python is exact, but an ID that reached us as a number went through a
        # spreadsheet cell formatted as a number, which keeps only 15 significant digits.
        raise IdNumberError(
            "excel_mangled",
            tr(
                "身份证号是以数字而不是文本保存的（{shown}），Excel 会丢失第 15 位以后的数字；"
                "请把该列设置为文本格式后重新录入",
                "the ID number is stored as a number ({shown}), and Excel loses every digit after "
                "the 15th; format the column as Text and enter the number again",
                shown=masked_text(repr(raw)),
            ),
            value=repr(raw),
        )
    if not isinstance(raw, str):
        raise TypeError(f"ID number must be str, got {type(raw).__name__}")

    if len(raw) == 18 and raw.isascii() and raw[:17].isdigit() and (raw[17].isdigit() or raw[17] in "Xx"):
        # The usual case, already clean: normalize() would change at most the x, and none of
        # the shape or character checks below can fail.
        return _info(raw if raw[17] != "x" else raw[:17] + "X", legacy15=False, suffix=None, today=today)
    number = normalize(raw)
    if not number:
        raise IdNumberError("empty", tr("身份证号为空", "the ID number is empty"))
    _reject_spreadsheet_shapes(number)
    _reject_bad_chars(number)

    if len(number) == 15:
        _birth_date("19" + number[6:12], number)
        return _info(upgrade15(number), legacy15=True, suffix=None, today=today)
    if len(number) == 18:
        return _info(number, legacy15=False, suffix=None, today=today)
    if len(number) == 20:
        info = _info(number[:18], legacy15=False, suffix=None, today=today)
        suffix = number[18:]
        if suffix[0] not in DISABILITY_TYPES or suffix[1] not in DISABILITY_GRADES:
            raise IdNumberError(
                "bad_disability_suffix",
                tr(
                    "20 位残疾人证号的第 19 位（残疾类别）应为 1–7、第 20 位（残疾等级）应为 1–4，实为 {suffix}",
                    "a 20-digit disability certificate number must end in a category 1-7 (19th digit) "
                    "and a grade 1-4 (20th digit), found {suffix}",
                    suffix=suffix,
                ),
                value=number,
            )
        return IdInfo(info.number, info.region_code, info.birth_date, info.sex, False, suffix)
    if len(number) == 22:
        raise IdNumberError(
            "bad_length",
            tr(
                "不支持 22 位证件号：没有可靠资料说明其含义；请录入 18 位身份证号",
                "22-digit certificate numbers are not supported because their meaning is unknown; "
                "enter the 18-digit ID number",
            ),
            value=number,
        )
    raise IdNumberError(
        "bad_length",
        tr(
            "身份证号应为 18 位（或 15 位旧号码、20 位残疾人证号），实为 {n} 位",
            "an ID number has 18 characters (or 15 for an old number, 20 for a disability "
            "certificate), found {n}",
            n=len(number),
        ),
        value=number,
    )


def _reject_spreadsheet_shapes(number: str) -> None:
    if _SCIENTIFIC.match(number):
        text = tr(
            "身份证号被 Excel 转成了科学计数法（{value}），后面的数字已丢失；"
            "请把该列设置为文本格式后重新录入",
            "the ID number was turned into scientific notation by Excel ({value}) and its last "
            "digits are lost; format the column as Text and enter the number again",
            value=masked_text(number),
        )
    elif _DECIMAL.match(number) or _GROUPED.match(number):
        text = tr(
            "身份证号带有小数点或千位分隔符（{value}），说明它被 Excel 当作数字处理过，第 15 位以后的数字"
            "可能已丢失；请把该列设置为文本格式后重新录入",
            "the ID number has a decimal point or thousands separators ({value}), so Excel treated "
            "it as a number and digits after the 15th may be lost; format the column as Text and "
            "enter the number again",
            value=masked_text(number),
        )
    else:
        return
    raise IdNumberError("excel_mangled", text, value=number)


def _reject_bad_chars(number: str) -> None:
    bad = sorted({ch for ch in number if not (ch.isascii() and (ch.isdigit() or ch == "X"))})
    if bad:
        raise IdNumberError(
            "bad_chars",
            tr(
                "身份证号含有不允许的字符：{chars}（只能是数字，第 18 位可以是 X）",
                "the ID number contains characters that are not allowed: {chars} (digits only; the "
                "18th may be X)",
                chars=" ".join(repr(ch) for ch in bad),
            ),
            value=number,
        )
    x_at = number.find("X")
    if x_at != -1 and not (x_at == 17 and len(number) in (18, 20, 22) and number.count("X") == 1):
        raise IdNumberError(
            "bad_chars",
            tr(
                "X 只能是身份证号的第 18 位（校验位），这里出现在第 {pos} 位",
                "X may only be the 18th character (the check character), found at position {pos}",
                pos=x_at + 1,
            ),
            value=number,
        )


def _birth_date(yyyymmdd: str, number: str) -> date:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        shown = f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:8]}"
        raise IdNumberError(
            "bad_date",
            tr(
                "身份证号中的出生日期 {date} 不存在",
                "the birth date in the ID number, {date}, does not exist",
                date=shown,
            ),
            value=number,
        ) from None


def _info(number: str, *, legacy15: bool, suffix: str | None, today: date) -> IdInfo:
    """Check an 18-character number: province, date, then plausibility, then check digit."""
    if not regions.id_province_exists(number[:2]):
        # Unknown or abolished county codes under a real province are only an ID-REGION warning
        # (people keep the number they were born with); no number was ever issued under these.
        raise IdNumberError(
            "bad_province",
            tr(
                "身份证号的前两位 {p} 不是任何省级行政区的代码，不存在这样的号码",
                "an ID number cannot start with {p}: it is not the code of any province",
                p=number[:2],
            ),
            value=number,
        )
    # The date comes before the check digit: a mistyped date digit breaks both, and naming
    # the impossible date shows the worker where the typo is.
    birth = _birth_date(number[6:14], number)
    if birth.year < EARLIEST_BIRTH_YEAR:
        raise IdNumberError(
            "bad_date",
            tr(
                "身份证号中的出生日期 {date} 早于 {year} 年，不可能",
                "the birth date in the ID number, {date}, is before {year} and cannot be right",
                date=birth.isoformat(),
                year=EARLIEST_BIRTH_YEAR,
            ),
            value=number,
        )
    if birth > today:
        raise IdNumberError(
            "future_date",
            tr(
                "身份证号中的出生日期 {date} 晚于今天（{today}）",
                "the birth date in the ID number, {date}, is after today ({today})",
                date=birth.isoformat(),
                today=today.isoformat(),
            ),
            value=number,
        )
    checksum = (1 - 2 * int(number[:17], 13)) % 11  # check_digit(), without checking its argument again
    expected = "X" if checksum == 10 else str(checksum)
    if number[17] != expected:
        raise IdNumberError(
            "bad_check",
            tr(
                "身份证号校验位错误：应为 {expected}，实为 {found}",
                "check digit is wrong: expected {expected}, found {found}",
                expected=expected,
                found=number[17],
            ),
            value=number,
        )
    sex = "1" if int(number[16]) % 2 == 1 else "2"
    return IdInfo(number, number[:6], birth, sex, legacy15, suffix)
