"""Resident ID numbers: vectors from GB 11643 and stdnum, every rejection reason, masking."""

from __future__ import annotations

from datetime import date

import pytest

from povdesk.core import idnumber
from povdesk.core.idnumber import IdNumberError, check_digit, make, mask, normalize, parse, upgrade15
from povdesk.errors import BadInput

TODAY = date(2024, 6, 30)


def reason_of(raw: str | int | float, today: date = TODAY) -> IdNumberError:
    with pytest.raises(IdNumberError) as caught:
        parse(raw, today=today)
    return caught.value


@pytest.mark.parametrize(
    "number", ["11010519491231002X", "440524188001010014", "360426199101010071", "120103198806018241"]
)
def test_published_vectors_are_valid(number: str) -> None:
    info = parse(number, today=TODAY)
    assert info.number == number
    assert info.region_code == number[:6]
    assert not info.legacy15
    assert info.disability_suffix is None


def test_fields_decoded() -> None:
    info = parse("11010519491231002X", today=TODAY)
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "2"  # 17th digit 2 is even
    assert info.sequence == "002"
    assert parse("360426199101010071", today=TODAY).sex == "1"


def test_wrong_check_digit() -> None:
    err = reason_of("360426199101010072")
    assert err.reason == "bad_check"
    assert isinstance(err, BadInput)
    assert err.text.zh == "身份证号校验位错误：应为 1，实为 2"
    assert err.text.en == "check digit is wrong: expected 1, found 2"


def test_check_digit_x_expected() -> None:
    err = reason_of("110105194912310023")
    assert err.reason == "bad_check"
    assert "应为 X，实为 3" in err.text.zh
    assert "expected X, found 3" in err.text.en


def test_check_digit_uses_mod_11_2() -> None:
    assert check_digit("11010519491231002") == "X"
    assert check_digit("44052418800101001") == "4"
    with pytest.raises(ValueError):
        check_digit("1101051949123100")


@pytest.mark.parametrize(
    "raw",
    [
        " 1101 0519 4912 31002x ",
        "１１０１０５１９４９１２３１００２Ｘ",
        "110105\u300019491231002ｘ",
        "11010519491231002X\n",
    ],
)
def test_normalisation(raw: str) -> None:
    assert normalize(raw) == "11010519491231002X"
    assert parse(raw, today=TODAY).number == "11010519491231002X"


def test_normalize_changes_nothing_else() -> None:
    assert normalize("11-01.05") == "11-01.05"
    assert normalize("abc") == "abc"


def test_empty() -> None:
    assert reason_of("").reason == "empty"
    assert reason_of(" \u3000 ").reason == "empty"


@pytest.mark.parametrize("raw", [522634199001011000, 5.22634199001011e17, 110105491231002, 0.0])
def test_numbers_are_excel_mangled(raw: int | float) -> None:
    err = reason_of(raw)
    assert err.reason == "excel_mangled"
    assert "文本" in err.text.zh and "Text" in err.text.en


@pytest.mark.parametrize(
    "raw",
    ["5.22634E+17", "5.22634e17", "5.22634199001011E+017", "522634199001011000.0", "522,634,199,001,011,000"],
)
def test_spreadsheet_shapes_are_excel_mangled(raw: str) -> None:
    assert reason_of(raw).reason == "excel_mangled"


def test_trailing_zeros_are_not_mangled_by_themselves() -> None:
    # An 18-character string ending in 000 can be a real number; only the check digit decides.
    assert make("522634", date(1990, 1, 1), 400) == "522634199001014000"
    assert parse("522634199001014000", today=TODAY).number == "522634199001014000"
    assert reason_of("522634199001011000").reason == "bad_check"


@pytest.mark.parametrize("raw", ["52263419900101O23X", "522634-1990010123X", "52263419900101123Y"])
def test_bad_characters(raw: str) -> None:
    err = reason_of(raw)
    assert err.reason == "bad_chars"


def test_x_only_as_check_character() -> None:
    err = reason_of("5226341990010X1234")
    assert err.reason == "bad_chars"
    assert "第 14 位" in err.text.zh and "position 14" in err.text.en
    assert reason_of("11010549123100X").reason == "bad_chars"  # no X in 15-digit numbers


@pytest.mark.parametrize(
    "raw", ["1101051949123100", "11010519491231002", "1101051949123100211", "1234567890"]
)
def test_bad_length(raw: str) -> None:
    err = reason_of(raw)
    assert err.reason == "bad_length"
    assert f"实为 {len(raw)} 位" in err.text.zh


def test_22_digits_unsupported() -> None:
    err = reason_of("11010519491231002X4100")
    assert err.reason == "bad_length"
    assert "22" in err.text.zh and "meaning is unknown" in err.text.en


def test_impossible_date() -> None:
    first17 = "52263419900230123"
    err = reason_of(first17 + check_digit(first17))
    assert err.reason == "bad_date"
    assert "1990-02-30" in err.text.zh


@pytest.mark.parametrize("year, leap", [(2000, True), (1996, True), (1900, False), (2001, False)])
def test_february_29(year: int, leap: bool) -> None:
    first17 = f"522634{year}0229123"
    number = first17 + check_digit(first17)
    if leap:
        assert parse(number, today=TODAY).birth_date == date(year, 2, 29)
    else:
        assert reason_of(number).reason == "bad_date"


def test_future_birth_date() -> None:
    number = make("522634", date(2024, 7, 1), 11)
    err = reason_of(number, today=TODAY)
    assert err.reason == "future_date"
    assert "2024-07-01" in err.text.zh and "2024-06-30" in err.text.en
    assert parse(make("522634", TODAY, 11), today=TODAY).birth_date == TODAY


@pytest.mark.parametrize("region", ["000000", "990101", "190101", "720000", "103401"])
def test_a_number_under_no_province_is_refused(region: str) -> None:
    """No number was ever issued under 00, 99 or another two digits no province has: an error."""
    number = make(region, date(1980, 5, 1), 11)  # a correct check digit does not save it
    err = reason_of(number)
    assert err.reason == "bad_province"
    assert region[:2] in err.text.zh and region[:2] in err.text.en


@pytest.mark.parametrize("region", ["522699", "110103", "810000", "830000", "710000"])
def test_a_real_province_with_an_unknown_or_abolished_county_parses(region: str) -> None:
    """Under a real province (Hong Kong, Macao and Taiwan residence permits included) the county code
    is left to the ID-REGION warning."""
    assert parse(make(region, date(1980, 5, 1), 11), today=TODAY).region_code == region


def test_too_old_birth_date() -> None:
    first17 = "52263418791231123"
    err = reason_of(first17 + check_digit(first17))
    assert err.reason == "bad_date"
    assert str(idnumber.EARLIEST_BIRTH_YEAR) in err.text.en


def test_fifteen_digit_upgrade_round_trip() -> None:
    info = parse("110105491231002", today=TODAY)
    assert info.legacy15
    assert info.number == "11010519491231002X"
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "2"
    assert upgrade15("110105491231002") == "11010519491231002X"
    # Back again: drop the century and the check digit.
    assert info.number[:6] + info.number[8:17] == "110105491231002"


def test_fifteen_digit_demo_county() -> None:
    info = parse("522634770802022", today=TODAY)
    assert info.number == "52263419770802022" + check_digit("52263419770802022")
    assert info.birth_date == date(1977, 8, 2)
    assert info.sex == "2"


def test_fifteen_digit_bad_date() -> None:
    err = reason_of("522634900230123")
    assert err.reason == "bad_date"
    assert "1990-02-30" in err.text.en


def test_disability_certificate_number() -> None:
    info = parse("11010519491231002X41", today=TODAY)
    assert info.number == "11010519491231002X"
    assert info.disability_suffix == "41"
    assert not info.legacy15


@pytest.mark.parametrize("suffix", ["81", "05", "15", "00"])
def test_disability_suffix_out_of_range(suffix: str) -> None:
    err = reason_of("11010519491231002X" + suffix)
    assert err.reason == "bad_disability_suffix"
    assert suffix in err.text.en


def test_disability_number_checks_the_id_part() -> None:
    assert reason_of("36042619910101007241").reason == "bad_check"


def test_make_builds_valid_numbers() -> None:
    for sequence, sex in [(0, "2"), (1, "1"), (998, "2"), (999, "1")]:
        number = make("522634", date(1985, 3, 9), sequence)
        info = parse(number, today=TODAY)
        assert info.sex == sex
        assert info.birth_date == date(1985, 3, 9)
        assert info.region_code == "522634"
    with pytest.raises(ValueError):
        make("522634", date(1985, 3, 9), 1000)
    with pytest.raises(ValueError):
        make("52263", date(1985, 3, 9), 1)


def test_mask() -> None:
    assert mask("52263419900101123X") == "522634********123X"
    assert mask("110105491231002") == "110105*****1002"
    assert mask("11010519491231002X41") == "110105**********2X41"
    assert mask("1234567890") == "1234567890"
    assert mask("12345678901") == "123456*8901"
    assert mask("123") == "***"
    assert mask(" 5226 3419 9001 0112 3x") == "522634********123X"
    for n in ("52263419900101123X", "110105491231002", "12345678901"):
        assert len(mask(n)) == len(n)


def test_errors_carry_both_languages() -> None:
    for raw in ["", 1.0, "5.2E+17", "abc", "123", "11010519491231002X4100", "110105194912310023"]:
        err = reason_of(raw)
        assert err.reason in idnumber.REASONS
        assert err.text.zh and err.text.en and err.text.zh != err.text.en
