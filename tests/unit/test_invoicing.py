import pytest

from domain.errors import DomainError
from domain.invoicing import (
    ITEM_NAME,
    TAX_CLASS_CODE,
    TaxRate,
    TitleType,
    invoice_number,
    is_valid_invoice_number,
    split_tax,
    validate_buyer,
    validate_email,
)


def test_item_and_tax_class() -> None:
    assert ITEM_NAME == "*非学历教育服务*培训费"
    assert TAX_CLASS_CODE == "3070201020000000000" and len(TAX_CLASS_CODE) == 19


@pytest.mark.parametrize("email", ["zhangsan@example.com", " li.si+inv@mail.hunan.gov.cn ", "a_b@qq.com"])
def test_valid_emails(email: str) -> None:
    assert validate_email(email) == email.strip()


@pytest.mark.parametrize(
    "email", ["", "zhangsan", "a@b", "a@@b.com", "a b@c.com", "a@b..com", "a@.com", "@qq.com"]
)
def test_invalid_emails(email: str) -> None:
    with pytest.raises(DomainError) as info:
        validate_email(email)
    assert info.value.message == "请填写正确的电子邮箱，用于接收电子发票"


def test_title_type_labels() -> None:
    assert TitleType.personal.label == "个人"
    assert TitleType.unit.label == "单位"


def test_unit_title_requires_tax_id() -> None:
    with pytest.raises(DomainError) as info:
        validate_buyer(TitleType.unit, "湖南省某某医院", "")
    assert info.value.message == "单位抬头须填写纳税人识别号"
    assert validate_buyer("unit", " 湖南省某某医院 ", "12430000444880045l") == (
        "湖南省某某医院",
        "12430000444880045L",
    )


def test_personal_title_tax_id_optional_but_validated() -> None:
    assert validate_buyer("personal", "张三", None) == ("张三", None)
    assert validate_buyer("personal", "张三", "  ") == ("张三", None)
    with pytest.raises(DomainError) as info:
        validate_buyer("personal", "张三", "123")
    assert info.value.code == "TaxIdInvalid"


def test_title_required_and_type_checked() -> None:
    with pytest.raises(DomainError) as info:
        validate_buyer("personal", "  ", None)
    assert info.value.code == "TitleRequired"
    with pytest.raises(DomainError) as info:
        validate_buyer("company", "x", None)
    assert info.value.code == "TitleTypeInvalid"


def test_tax_rate_labels() -> None:
    assert [r.label for r in TaxRate] == ["3%", "6%", "免税"]
    assert TaxRate("0.03") is TaxRate.simplified_3


@pytest.mark.parametrize(
    ("amount", "rate", "net", "tax"),
    [
        (10300, "0.03", 10000, 300),
        (10600, TaxRate.general_6, 10000, 600),
        (12000, "0.03", 11650, 350),  # 12000/1.03 = 11650.49
        (12000, "0.06", 11321, 679),  # 12000/1.06 = 11320.75
        (12000, "exempt", 12000, 0),
        (0, "0.06", 0, 0),
        (1, "0.03", 1, 0),
    ],
)
def test_split_tax_price_includes_tax(amount: int, rate: str, net: int, tax: int) -> None:
    assert split_tax(amount, rate) == (net, tax)
    assert sum(split_tax(amount, rate)) == amount


def test_split_tax_refuses_unknown_rate() -> None:
    with pytest.raises(DomainError) as info:
        split_tax(100, "0.13")
    assert info.value.code == "TaxRateInvalid"


def test_invoice_number_shape() -> None:
    no = invoice_number(2026, 2, 123)
    assert no == "26432000000000000123"
    assert len(no) == 20 and no.isdigit()
    assert no[:2] == "26" and no[2:4] == "43" and no[4] == "2" and int(no[5:]) == 123
    assert is_valid_invoice_number(no)
    assert invoice_number(26, 0, 10**15 - 1) == "264309" + "9" * 14


@pytest.mark.parametrize(
    "bad",
    ["2643200000000000012", "264320000000000001234", "26442000000000000123", "2643200000000000012A", ""],
)
def test_invalid_invoice_numbers(bad: str) -> None:
    assert not is_valid_invoice_number(bad)


def test_invoice_number_limits() -> None:
    with pytest.raises(ValueError):
        invoice_number(2026, 10, 1)
    with pytest.raises(ValueError):
        invoice_number(2026, 1, 10**15)
