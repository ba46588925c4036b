"""The reconciliation's pure rules: every kind of difference, nothing for what matches or what the
platform itself refunded, stable keys (a rerun finds the same differences), the resolutions each
kind allows, and Beijing days."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.reconciliation import (
    AppPayment,
    AppRefund,
    BillLine,
    DifferenceKind,
    Ledger,
    Resolution,
    allowed_actions,
    beijing_day_bounds,
    compare,
    previous_beijing_day,
    refund_no_for,
    valid_day,
)
from gateways.alipay import parse_alipay_bill
from gateways.wechatpay import parse_wechat_bill

DAY = "2026-12-01"


def pay(trade: str, order: str, amount: int = 12000, channel: str = "alipay") -> BillLine:
    return BillLine("payment", channel, f"{order}-{channel}", trade, amount, "2026-12-01T02:00:00+00:00")


def back(trade: str, order: str, refund_no: str, amount: int, channel: str = "alipay") -> BillLine:
    return BillLine("refund", channel, f"{order}-{channel}", trade, amount, "2026-12-01T03:00:00+00:00", refund_no)


def test_matching_books_have_no_difference() -> None:
    ledger = Ledger(
        payments=[AppPayment("O1", "alipay", "T1", 12000)],
        refunds=[AppRefund("R1", "O1", "T1", 4000)],
    )
    assert compare(DAY, [pay("T1", "O1"), back("T1", "O1", "R1", 4000)], ledger) == []


def test_every_kind_of_difference_is_found() -> None:
    ledger = Ledger(
        payments=[AppPayment("O2", "alipay", "T2", 12000), AppPayment("O3", "wechat", "4T3", 8000)],
        refunds=[AppRefund("R4", "O2", "T2", 2000)],
        order_amounts={"O9": 5000},
    )
    bill = [
        pay("T9", "O9", 5000),  # no payment of ours
        pay("T2", "O2", 11000),  # amount differs
        back("T2", "O2", "R5", 1000),  # a refund we never made
    ]
    found = {d.kind: d for d in compare(DAY, bill, ledger)}
    assert set(found) == {
        DifferenceKind.UNKNOWN_PAYMENT,
        DifferenceKind.AMOUNT_MISMATCH,
        DifferenceKind.PAYMENT_MISSING_AT_PROVIDER,
        DifferenceKind.REFUND_MISSING_AT_PROVIDER,
        DifferenceKind.REFUND_MISSING_IN_APP,
    }
    unknown = found[DifferenceKind.UNKNOWN_PAYMENT]
    assert (unknown.order_no, unknown.provider_cents, unknown.app_cents) == ("O9", 5000, 5000)
    mismatch = found[DifferenceKind.AMOUNT_MISMATCH]
    assert (mismatch.provider_cents, mismatch.app_cents) == (11000, 12000)
    assert found[DifferenceKind.PAYMENT_MISSING_AT_PROVIDER].channel == "wechat"
    assert found[DifferenceKind.REFUND_MISSING_AT_PROVIDER].refund_no == "R4"


def test_payments_the_platform_refunded_or_already_knows_are_not_differences() -> None:
    """A late or duplicate payment we refunded (its trade is on a refund of ours), and a difference
    finance already resolved, are accounted for."""
    ledger = Ledger(known_trade_nos=["T7"], known_refund_nos=["L7"])
    assert compare(DAY, [pay("T7", "O7"), back("T7", "O7", "L7", 12000)], ledger) == []


def test_keys_are_stable_across_reruns() -> None:
    ledger = Ledger(payments=[AppPayment("O3", "wechat", "4T3", 8000)])
    first = compare(DAY, [pay("T9", "O9")], ledger)
    again = compare(DAY, [pay("T9", "O9")], ledger)
    assert [d.key for d in first] == [d.key for d in again]
    assert len({d.key for d in first}) == len(first)
    assert refund_no_for(first[0].key) == refund_no_for(again[0].key) and len(refund_no_for(first[0].key)) <= 64


def test_each_kind_allows_its_resolutions() -> None:
    assert allowed_actions(DifferenceKind.UNKNOWN_PAYMENT) == (Resolution.REFUND, Resolution.SETTLE, Resolution.EXPLAIN)
    assert allowed_actions(DifferenceKind.PAYMENT_MISSING_AT_PROVIDER) == (Resolution.EXPLAIN,)
    assert Resolution.SETTLE not in allowed_actions(DifferenceKind.AMOUNT_MISMATCH)


def test_beijing_days() -> None:
    assert previous_beijing_day(datetime(2026, 12, 2, 17, 30, tzinfo=UTC)) == "2026-12-02"  # 01:30 on the 3rd
    assert previous_beijing_day(datetime(2026, 12, 2, 15, 30, tzinfo=UTC)) == "2026-12-01"
    start, end = beijing_day_bounds("2026-12-01")
    assert start == datetime(2026, 11, 30, 16, tzinfo=UTC) and end == datetime(2026, 12, 1, 16, tzinfo=UTC)
    assert valid_day("2026-12-01", "2026-12-02")
    assert not valid_day("2026-12-02", "2026-12-02")  # today is not over
    assert not valid_day("2024-01-01", "2026-12-02")  # more than a year back
    assert not valid_day("2026-02-30", "2026-12-02")


def test_alipay_bill_is_read_from_its_zip_and_gbk_csv() -> None:
    import io
    import zipfile

    text = (
        "#支付宝业务明细查询\r\n#账号：[20880000000000010156]\r\n"
        "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
        "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
        "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\r\n"
        "2026120122001,O1-alipay,交易,课程,2026-12-01 10:00:00,2026-12-01 10:00:05,,,,,***,120.00,120.00,"
        "0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,0.00,0.00,\r\n"
        "2026120122001,O1-alipay,退款,课程,2026-12-01 10:00:00,2026-12-01 11:00:00,,,,,***,120.00,-40.00,"
        "0.00,0.00,0.00,0.00,0.00,,0.00,0.00,W-1,0.00,0.00,\r\n"
        "#交易合计：1笔\r\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("20880000000000010156_20261201_业务明细.csv", text.encode("gbk"))
        archive.writestr("20880000000000010156_20261201_业务明细(汇总).csv", "#汇总".encode("gbk"))
    entries = parse_alipay_bill(buffer.getvalue())
    assert [(e.kind, e.amount_cents, e.refund_no, e.at) for e in entries] == [
        ("payment", 12000, "", "2026-12-01T02:00:05+00:00"),
        ("refund", 4000, "W-1", "2026-12-01T03:00:00+00:00"),
    ]


def test_wechat_tradebill_is_read_with_its_backticks_and_totals() -> None:
    header = (
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
        "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
        "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
    )
    paid = "`2026-12-01 10:00:00,`wx1,`19,`0,`,`4200A,`O2-wechat,`o,`NATIVE,`SUCCESS,`OTHERS,`CNY,`80.00,`0.00,`0,`0,"
    paid += "`0.00,`0.00,`,`,`课程,`,`0.48000,`0.60%,`80.00,`0.00,`"
    refund = "`2026-12-01 12:00:00,`wx1,`19,`0,`,`4200A,`O2-wechat,`o,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50X,"
    refund += "`R-2,`80.00,`0.00,`ORIGINAL,`SUCCESS,`课程,`,`0.00000,`0.60%,`80.00,`80.00,`"
    text = "\r\n".join([header, paid, refund, "总交易单数,应结订单总金额,退款总金额", "`2,`80.00,`80.00"])
    entries = parse_wechat_bill(text)
    assert [(e.kind, e.trade_no, e.amount_cents, e.refund_no) for e in entries] == [
        ("payment", "4200A", 8000, ""),
        ("refund", "4200A", 8000, "R-2"),
    ]
