import pytest

from domain.credit_code import (
    ALPHABET,
    WEIGHTS,
    check_char,
    is_valid_credit_code,
    make_credit_code,
    validate_credit_code,
    validate_tax_id,
)
from domain.errors import DomainError


def test_alphabet_and_weights_match_the_standard() -> None:
    assert len(ALPHABET) == 31
    assert not set("IOSVZ") & set(ALPHABET)
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", ["91110000600037341L", "12430000444880045L"])
def test_worked_examples_pass(code: str) -> None:
    assert check_char(code[:17]) == "L"
    assert is_valid_credit_code(code)
    assert validate_credit_code(code) == code


def test_normalises_spaces_and_case() -> None:
    assert validate_credit_code("  12430000444880045l ") == "12430000444880045L"


@pytest.mark.parametrize(
    "code",
    [
        "12430000444880045M",  # wrong check character
        "12430000444880046L",  # one digit changed
        "1243000044488004L",  # 17 characters
        "124300004448800450L",  # 19 characters
        "124300A0444880045L",  # letter in the division code
        "12430000444880O45L",  # letter O is not in the alphabet
        "",
    ],
)
def test_invalid_codes_are_refused_with_chinese_message(code: str) -> None:
    assert not is_valid_credit_code(code)
    with pytest.raises(DomainError) as info:
        validate_credit_code(code)
    assert info.value.code == "CreditCodeInvalid"
    assert info.value.message == "统一社会信用代码校验不通过，请核对"


def test_every_wrong_check_char_is_refused() -> None:
    first17 = "12430000444880045"
    wrong = [c for c in ALPHABET if c != "L"]
    assert all(not is_valid_credit_code(first17 + c) for c in wrong)


def test_make_credit_code_builds_valid_demo_codes() -> None:
    for first17 in ["12430100MB1234567", "52430000XY0000012", "91430104ABCDEFGHJ"]:
        code = make_credit_code(first17)
        assert len(code) == 18 and code.startswith(first17)
        assert is_valid_credit_code(code)


def test_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        check_char("124300004448800")
    with pytest.raises(ValueError):
        check_char("1243000044488004I")


@pytest.mark.parametrize("tax_id", ["430104123456789", "4301041234567890AB12", "12430000444880045L"])
def test_tax_id_accepts_15_18_20(tax_id: str) -> None:
    assert validate_tax_id(tax_id.lower()) == tax_id


@pytest.mark.parametrize(
    "tax_id", ["43010412345678", "4301041234567890", "43010412345678-", "税号123456789012"]
)
def test_tax_id_wrong_shape(tax_id: str) -> None:
    with pytest.raises(DomainError) as info:
        validate_tax_id(tax_id)
    assert info.value.code == "TaxIdInvalid"
    assert "15、18或20位" in info.value.message


def test_tax_id_of_18_runs_the_checksum() -> None:
    with pytest.raises(DomainError) as info:
        validate_tax_id("12430000444880045M")
    assert info.value.code == "CreditCodeInvalid"
