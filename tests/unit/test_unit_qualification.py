"""集体开票资格 rules: the qualification form, one live application per unit and applicant."""

from __future__ import annotations

import pytest

from domain.errors import DomainError
from domain.unit_qualification import QualificationState, refuse_new_qualification, validate_qualification_form

CODE = "12430000444880045L"


def test_form_normalises_name_and_code() -> None:
    assert validate_qualification_form("  湖南省  农业科学院 ", CODE.lower()) == ("湖南省 农业科学院", CODE)


@pytest.mark.parametrize(
    ("name", "tax_id", "code", "message"),
    [
        ("", CODE, "UnitNameRequired", "请输入单位名称"),
        ("单" * 101, CODE, "UnitNameTooLong", "单位名称过长"),
        ("某单位", " ", "UnitTaxIdRequired", "请输入单位识别号"),
        ("某单位", "12430000444880045X", "UnitCreditCodeInvalid", "单位识别号（统一社会信用代码）校验不通过"),
        # the field is 单位识别号: its message names it, not 纳税人识别号
        ("某单位", "12345", "UnitTaxIdInvalid", "单位识别号格式不正确"),
    ],
)
def test_form_refusals(name: str, tax_id: str, code: str, message: str) -> None:
    with pytest.raises(DomainError) as err:
        validate_qualification_form(name, tax_id)
    assert err.value.code == code and message in err.value.message


def test_fifteen_character_tax_id_of_an_older_unit_is_accepted() -> None:
    assert validate_qualification_form("老单位", "430102123456789")[1] == "430102123456789"


@pytest.mark.parametrize(
    ("unit", "mine", "code"),
    [
        (QualificationState.UNDER_REVIEW, None, "QualificationPending"),
        (None, QualificationState.UNDER_REVIEW, "QualificationPending"),
        (QualificationState.APPROVED, None, "UnitAlreadyApproved"),
        (QualificationState.REJECTED, QualificationState.APPROVED, "UnitAlreadyApproved"),
    ],
)
def test_one_live_application_per_unit_and_applicant(unit: str | None, mine: str | None, code: str) -> None:
    with pytest.raises(DomainError) as err:
        refuse_new_qualification(unit, mine)
    assert err.value.code == code


def test_a_rejected_unit_may_apply_again() -> None:
    refuse_new_qualification(QualificationState.REJECTED, QualificationState.REJECTED)
    refuse_new_qualification(None, None)
