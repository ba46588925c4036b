"""WeChat Pay Native (API v3) on wechatpayv3: native order (code_url), query, close, refund with
`out_refund_no`, the trade bill, and the signed, AES-GCM encrypted notification.

The SDK signs requests (`Authorization: WECHATPAY2-SHA256-RSA2048 ...`) with the merchant key and
verifies answers with the 微信支付公钥 (`Wechatpay-Serial` = its public key id). Its calls are
blocking, so each runs in a thread. Against the simulator the API URL is BASE_URL/paysim/wechat;
live it is https://api.mch.weixin.qq.com.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import io
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from wechatpayv3 import WeChatPay, WeChatPayType

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
from gateways.paysim_wire import BEIJING, fen, from_beijing

CHANNEL = "wechat"
STATES = {
    "NOTPAY": TradeState.NOTPAY,
    "USERPAYING": TradeState.NOTPAY,
    "SUCCESS": TradeState.SUCCESS,
    "CLOSED": TradeState.CLOSED,
    "REVOKED": TradeState.CLOSED,
    "PAYERROR": TradeState.CLOSED,
    "REFUND": TradeState.REFUND,
}
# A notification signed longer ago than this is refused (the provider signs each attempt anew).
MAX_NOTIFICATION_AGE_SECONDS = 300
TIMEOUT_SECONDS = 15


class WechatPayGateway:
    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        api_url: str,
        notify_url: str,
        private_key: str,
        cert_serial_no: str,
        apiv3_key: str,
        public_key: str,
        public_key_id: str,
    ) -> None:
        self.mchid, self.appid, self.public_key_id = mchid, appid, public_key_id
        self.client = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=mchid,
            private_key=private_key,
            cert_serial_no=cert_serial_no,
            appid=appid,
            apiv3_key=apiv3_key,
            notify_url=notify_url,
            timeout=(5, TIMEOUT_SECONDS),
            public_key=public_key,
            public_key_id=public_key_id,
        )
        self.client._core._gate_way = api_url.rstrip("/")  # the SDK knows only the live URL

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        try:
            code, message = await asyncio.to_thread(fn, *args, **kwargs)
        except Exception as exc:  # the SDK raises plain Exception for a bad answer signature
            if "signature" in str(exc):
                raise ConnectionError("微信支付应答验签失败") from exc  # transport-like: retried
            raise
        if int(code) >= 500 or int(code) == 429:  # the provider's transient faults: retried
            raise ConnectionError(f"微信支付暂不可用：HTTP {code}")
        return int(code), message

    @staticmethod
    def _error(message: Any) -> tuple[str, str]:
        try:
            data = json.loads(message)
        except (TypeError, ValueError):
            return "", ""
        return str(data.get("code", "")), str(data.get("message", ""))

    async def precreate(
        self, *, order_no: str, channel: str, amount_cents: int, subject: str, expires_at: str
    ) -> Trade:
        key = out_trade_no(order_no, CHANNEL)
        expires = datetime.fromisoformat(expires_at).astimezone(BEIJING).isoformat(timespec="seconds")
        status, message = await self._call(
            self.client.pay,
            description=subject[:127],
            out_trade_no=key,
            amount={"total": amount_cents, "currency": "CNY"},
            time_expire=expires,
            pay_type=WeChatPayType.NATIVE,
        )
        if status != 200:
            code, text = self._error(message)
            if code == "ORDER_CLOSED":
                raise TradeClosed(text or "交易已关闭")
            raise PaymentGatewayError(text or "微信支付下单失败")
        return Trade(
            out_trade_no=key,
            trade_no="",  # WeChat numbers the transaction once it is paid
            channel=CHANNEL,
            amount_cents=amount_cents,
            qr_url=str(json.loads(message)["code_url"]),
            state=TradeState.NOTPAY,
            expires_at=expires_at,
        )

    async def _transaction(self, **by: str) -> dict[str, Any] | None:
        status, message = await self._call(self.client.query, **by)
        if status == 404:
            return None
        if status != 200:
            raise PaymentGatewayError(self._error(message)[1] or "微信支付查询失败")
        data: dict[str, Any] = json.loads(message)
        return data

    async def query(self, *, out_trade_no: str) -> Trade | None:
        data = await self._transaction(out_trade_no=out_trade_no)
        if data is None:
            return None
        return Trade(
            out_trade_no=out_trade_no,
            trade_no=str(data.get("transaction_id", "")),
            channel=CHANNEL,
            amount_cents=int(data["amount"]["total"]),
            qr_url="",
            state=STATES.get(str(data.get("trade_state")), TradeState.NOTPAY),
            expires_at="",
            paid_at=datetime.fromisoformat(data["success_time"]).astimezone(UTC).isoformat()
            if data.get("success_time")
            else "",
        )

    async def close(self, *, out_trade_no: str) -> None:
        """An unpaid trade closes; a paid or unknown one stays as it is."""
        status, message = await self._call(self.client.close, out_trade_no=out_trade_no)
        if status in (200, 204):
            return
        code, text = self._error(message)
        if code not in ("ORDERPAID", "ORDER_NOT_EXIST", "ORDERNOTEXIST"):
            raise PaymentGatewayError(text or "微信支付关单失败")

    async def refund(self, *, trade_no: str, refund_no: str, amount_cents: int) -> RefundReceipt:
        original = await self._transaction(transaction_id=trade_no)  # the refund names the order's total
        if original is None:
            raise TradeNotFound("交易不存在")
        status, message = await self._call(
            self.client.refund,
            out_refund_no=refund_no,  # the same refund number refunds once
            amount={"refund": amount_cents, "total": int(original["amount"]["total"]), "currency": "CNY"},
            transaction_id=trade_no,
        )
        if status == 404:
            raise TradeNotFound(self._error(message)[1] or "交易不存在")
        if status != 200:
            raise RefundRefused(self._error(message)[1] or "微信支付拒绝退款")
        data = json.loads(message)
        if data.get("status") not in ("SUCCESS", "PROCESSING"):
            raise RefundRefused(f"退款状态异常：{data.get('status')}")
        at = data.get("success_time") or data.get("create_time")
        refunded_at = datetime.fromisoformat(at).astimezone(UTC) if at else datetime.now(UTC)
        return RefundReceipt(
            refund_no=refund_no,
            trade_no=trade_no,
            amount_cents=int(data["amount"]["refund"]),
            refunded_at=refunded_at.isoformat(),
        )

    def verify_notification(self, channel: str, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        """Wechatpay-Signature over timestamp, nonce and body with the 微信支付公钥, a fresh timestamp,
        then the resource decrypted with the APIv3 key (AES-256-GCM, which also refuses a tampered
        ciphertext); then our merchant, a paid state and a well-formed trade."""
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp = lower.get("wechatpay-timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_NOTIFICATION_AGE_SECONDS:
            raise InvalidNotification("missing or stale Wechatpay-Timestamp")
        if lower.get("wechatpay-serial") != self.public_key_id:
            raise InvalidNotification("signed with a key that is not the 微信支付公钥 we hold")
        try:
            result = self.client.callback(lower, body)
        except Exception as exc:  # unknown algorithm, malformed JSON
            raise InvalidNotification(f"notification refused: {exc}") from exc
        if not result or not isinstance(result.get("resource"), dict):
            raise InvalidNotification("signature does not match or the resource does not decrypt")
        tx = result["resource"]
        if result.get("event_type") != "TRANSACTION.SUCCESS" or tx.get("trade_state") != "SUCCESS":
            raise InvalidNotification(f"not a payment: {result.get('event_type')} {tx.get('trade_state')}")
        if tx.get("mchid") != self.mchid or tx.get("appid") != self.appid:
            raise InvalidNotification("mchid/appid are not ours")
        out_trade = str(tx.get("out_trade_no", ""))
        if not out_trade.endswith(f"-{CHANNEL}") or not tx.get("transaction_id"):
            raise InvalidNotification(f"out_trade_no {out_trade!r} is not a WeChat trade of ours")
        try:
            amount = int(tx["amount"]["total"])
            paid_at = datetime.fromisoformat(str(tx["success_time"])).astimezone(UTC)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidNotification("amount or success_time malformed") from exc
        if amount <= 0:
            raise InvalidNotification("amount is not positive")
        return PaymentNotice(
            order_no=order_no_of(out_trade),
            out_trade_no=out_trade,
            trade_no=str(tx["transaction_id"]),
            channel=CHANNEL,
            amount_cents=amount,
            paid_at=paid_at.isoformat(),
        )

    async def bill(self, *, channel: str, day: str) -> list[BillEntry]:
        status, message = await self._call(self.client.trade_bill, bill_date=day, bill_type="ALL", tar_type="GZIP")
        if status != 200:
            raise PaymentGatewayError(self._error(message)[1] or "微信支付账单申请失败")
        info = json.loads(message)
        got_status, content = await self._call(self.client.download_bill, str(info["download_url"]))
        if got_status != 200 or not isinstance(content, bytes):
            raise PaymentGatewayError("微信支付账单下载失败")
        if info.get("hash_type") == "SHA1" and hashlib.sha1(content).hexdigest() != info.get("hash_value"):
            raise ConnectionError("微信支付账单摘要不符")  # a broken download: retried
        return parse_wechat_bill(gzip.decompress(content).decode("utf-8"))


def parse_wechat_bill(text: str) -> list[BillEntry]:
    """交易账单: a header, one line per payment (SUCCESS) and refund (REFUND), every field led by a
    backtick, then the totals (a second header and line), which are skipped."""
    lines = text.splitlines()
    body: list[str] = []
    for line in lines:
        if line.startswith("总交易单数"):
            break
        body.append(line)
    entries: list[BillEntry] = []
    for row in csv.DictReader(io.StringIO("\n".join(body))):
        cols = {k.strip(): (v or "").strip().lstrip("`") for k, v in row.items() if k}
        state = cols.get("交易状态")
        if state == "SUCCESS":
            entries.append(
                BillEntry(
                    kind="payment",
                    channel=CHANNEL,
                    out_trade_no=cols["商户订单号"],
                    trade_no=cols["微信订单号"],
                    amount_cents=fen(cols["应结订单金额"]),
                    at=from_beijing(cols["交易时间"]).isoformat(),
                )
            )
        elif state == "REFUND":
            entries.append(
                BillEntry(
                    kind="refund",
                    channel=CHANNEL,
                    out_trade_no=cols["商户订单号"],
                    trade_no=cols["微信订单号"],
                    amount_cents=fen(cols["退款金额"]),
                    at=from_beijing(cols["交易时间"]).isoformat(),
                    refund_no=cols["商户退款单号"],
                )
            )
    return entries
