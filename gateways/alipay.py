"""Alipay 当面付 on python-alipay-sdk: precreate (QR), query, close, refund with `out_request_no`,
the daily bill, and the RSA2-signed asynchronous notification.

The SDK signs every request with the application private key and verifies every answer with the
Alipay public key; its calls are blocking, so each runs in a thread. Against the embedded simulator
the gateway URL is BASE_URL/paysim/alipay/gateway.do; live it is https://openapi.alipay.com/gateway.do.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from urllib.request import urlopen

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from gateways.payment import (
    BillEntry,
    InvalidNotification,
    PaymentGatewayError,
    PaymentNotice,
    RefundReceipt,
    RefundRefused,
    Trade,
    TradeClosed,
    TradeNotFound,
    TradeState,
    order_no_of,
    out_trade_no,
)
from gateways.paysim_wire import beijing, fen, from_beijing, yuan

CHANNEL = "alipay"
STATES = {
    "WAIT_BUYER_PAY": TradeState.NOTPAY,
    "TRADE_SUCCESS": TradeState.SUCCESS,
    "TRADE_FINISHED": TradeState.SUCCESS,
    "TRADE_CLOSED": TradeState.CLOSED,
}
TIMEOUT_SECONDS = 15


class AlipayGateway:
    def __init__(
        self, *, app_id: str, gateway_url: str, notify_url: str, app_private_key: str, alipay_public_key: str
    ) -> None:
        self.app_id = app_id
        self.client = AliPay(
            appid=app_id,
            app_notify_url=notify_url,
            app_private_key_string=app_private_key,
            alipay_public_key_string=alipay_public_key,
            sign_type="RSA2",
        )
        self.client._gateway = gateway_url  # the SDK knows only the live and sandbox URLs

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = await asyncio.to_thread(fn, *args, **kwargs)
        except AliPayValidationError as exc:
            raise ConnectionError("支付宝应答验签失败") from exc  # transport-like: retried
        except AliPayException as exc:
            raise PaymentGatewayError(f"支付宝拒绝了请求：{exc}") from exc
        if answer.get("code") == "20000":  # 服务不可用: the provider's own transient fault
            raise ConnectionError(f"支付宝服务暂不可用：{answer.get('sub_msg', '')}")
        return answer

    @staticmethod
    def _failed(answer: Mapping[str, Any]) -> str | None:
        return None if answer.get("code") == "10000" else str(answer.get("sub_code") or answer.get("code"))

    async def precreate(
        self, *, order_no: str, channel: str, amount_cents: int, subject: str, expires_at: str
    ) -> Trade:
        key = out_trade_no(order_no, CHANNEL)
        answer = await self._call(
            self.client.api_alipay_trade_precreate,
            subject=subject[:200],
            out_trade_no=key,
            total_amount=yuan(amount_cents),
            time_expire=beijing(datetime.fromisoformat(expires_at)),
        )
        code = self._failed(answer)
        if code == "ACQ.TRADE_HAS_CLOSE":
            raise TradeClosed(str(answer.get("sub_msg") or "交易已关闭"))
        if code is not None:
            raise PaymentGatewayError(str(answer.get("sub_msg") or "支付宝下单失败"))
        return Trade(
            out_trade_no=key,
            trade_no=str(answer.get("trade_no", "")),  # the live precreate has none until scanned
            channel=CHANNEL,
            amount_cents=amount_cents,
            qr_url=str(answer["qr_code"]),
            state=TradeState.NOTPAY,
            expires_at=expires_at,
        )

    async def query(self, *, out_trade_no: str) -> Trade | None:
        answer = await self._call(self.client.api_alipay_trade_query, out_trade_no=out_trade_no)
        code = self._failed(answer)
        if code == "ACQ.TRADE_NOT_EXIST":
            return None
        if code is not None:
            raise PaymentGatewayError(str(answer.get("sub_msg") or "支付宝查询失败"))
        return Trade(
            out_trade_no=out_trade_no,
            trade_no=str(answer.get("trade_no", "")),
            channel=CHANNEL,
            amount_cents=fen(str(answer["total_amount"])),
            qr_url="",
            state=STATES.get(str(answer.get("trade_status")), TradeState.NOTPAY),
            expires_at="",
            paid_at=from_beijing(str(answer["send_pay_date"])).isoformat() if answer.get("send_pay_date") else "",
        )

    async def close(self, *, out_trade_no: str) -> None:
        """An unpaid trade closes; a paid or unknown one stays as it is (as with the simulator)."""
        answer = await self._call(self.client.api_alipay_trade_close, out_trade_no=out_trade_no)
        code = self._failed(answer)
        if code not in (None, "ACQ.TRADE_NOT_EXIST", "ACQ.TRADE_STATUS_ERROR"):
            raise PaymentGatewayError(str(answer.get("sub_msg") or "支付宝关单失败"))

    async def refund(self, *, trade_no: str, refund_no: str, amount_cents: int) -> RefundReceipt:
        answer = await self._call(
            self.client.api_alipay_trade_refund,
            refund_amount=yuan(amount_cents),
            trade_no=trade_no,
            out_request_no=refund_no,  # the same request number refunds once
        )
        code = self._failed(answer)
        if code == "ACQ.TRADE_NOT_EXIST":
            raise TradeNotFound(str(answer.get("sub_msg") or "交易不存在"))
        if code is not None:
            raise RefundRefused(str(answer.get("sub_msg") or "支付宝拒绝退款"))
        refunded = answer.get("gmt_refund_pay")
        at = from_beijing(str(refunded)) if refunded else datetime.now(UTC)
        return RefundReceipt(
            refund_no=refund_no, trade_no=trade_no, amount_cents=amount_cents, refunded_at=at.isoformat()
        )

    def verify_notification(self, channel: str, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        """RSA2 over the sorted parameters without sign and sign_type, with the Alipay public key; then
        our app id, a paid status and a well-formed trade."""
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidNotification("not a form") from exc
        signature = params.pop("sign", "")
        if not signature or params.get("sign_type") != "RSA2":
            raise InvalidNotification("unsigned or not RSA2")
        try:
            genuine = self.client.verify(dict(params), signature)
        except (AliPayException, ValueError, TypeError) as exc:
            raise InvalidNotification(f"signature check failed: {exc}") from exc
        if not genuine:
            raise InvalidNotification("signature does not match")
        if params.get("app_id") != self.app_id:
            raise InvalidNotification(f"app_id {params.get('app_id')!r} is not ours")
        if params.get("trade_status") not in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            raise InvalidNotification(f"trade_status is {params.get('trade_status')!r}")
        out_trade = params.get("out_trade_no", "")
        if not out_trade.endswith(f"-{CHANNEL}") or not params.get("trade_no"):
            raise InvalidNotification(f"out_trade_no {out_trade!r} is not an Alipay trade of ours")
        try:
            amount = fen(params.get("total_amount", ""))
            paid_at = from_beijing(params.get("gmt_payment", ""))
        except ValueError as exc:
            raise InvalidNotification("total_amount or gmt_payment malformed") from exc
        if amount <= 0:
            raise InvalidNotification("total_amount is not positive")
        return PaymentNotice(
            order_no=order_no_of(out_trade),
            out_trade_no=out_trade,
            trade_no=params["trade_no"],
            channel=CHANNEL,
            amount_cents=amount,
            paid_at=paid_at.isoformat(),
        )

    async def bill(self, *, channel: str, day: str) -> list[BillEntry]:
        answer = await self._call(
            self.client.server_api,
            "alipay.data.dataservice.bill.downloadurl.query",
            biz_content={"bill_type": "trade", "bill_date": day},
        )
        if self._failed(answer) is not None:
            raise PaymentGatewayError(str(answer.get("sub_msg") or "支付宝账单下载失败"))
        archive = await asyncio.to_thread(_download, str(answer["bill_download_url"]))
        return parse_alipay_bill(archive)


def _download(url: str) -> bytes:
    with urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (the provider's https URL)
        data: bytes = response.read()
    return data


def parse_alipay_bill(archive: bytes) -> list[BillEntry]:
    """业务明细 CSV (GBK) inside the zip: 交易 and 退款 lines; '#' lines are headers and totals."""
    entries: list[BillEntry] = []
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        for name in zipped.namelist():
            if "业务明细" not in name or "汇总" in name:
                continue
            text = zipped.read(name).decode("gbk")
            rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
            for row in csv.DictReader(io.StringIO("\n".join(rows))):
                cols = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                kind = cols.get("业务类型")
                if kind not in ("交易", "退款"):
                    continue
                entries.append(
                    BillEntry(
                        kind="payment" if kind == "交易" else "refund",
                        channel=CHANNEL,
                        out_trade_no=cols["商户订单号"],
                        trade_no=cols["支付宝交易号"],
                        amount_cents=abs(fen(cols["商家实收（元）"])),
                        at=from_beijing(cols["完成时间"]).isoformat(),
                        refund_no=cols.get("退款批次号/请求号", "") if kind == "退款" else "",
                    )
                )
    return entries
