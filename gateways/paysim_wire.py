"""The embedded provider's two wire protocols, on top of its store (`gateways/simulator.py`).

`AlipayWire` answers as Alipay's openapi gateway (`gateway.do`: RSA2-signed requests, answers signed
over the exact JSON of the response object, async notifications as RSA2-signed form parameters,
the 业务明细 CSV bill in a zip, GBK). `WechatWire` answers as WeChat Pay's API v3 (requests signed in
the `Authorization` header, answers and notifications signed in `Wechatpay-*` headers, notification
resources encrypted with AEAD_AES_256_GCM under the APIv3 key, the tradebill text, gzipped).

The merchant side (`gateways/alipay.py`, `gateways/wechatpay.py`) speaks to these through the
providers' own SDKs, over HTTP, exactly as it would to the real providers. The signing here is
written against the providers' documentation with `cryptography`, not with the SDKs, so the
adapter tests check one implementation against another.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import io
import json
import secrets
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config import Settings
from gateways.payment import (
    PaymentGatewayError,
    RefundRefused,
    TradeClosed,
    TradeNotFound,
    TradeState,
    order_no_of,
)
from gateways.paysim_keys import WECHAT_PUBLIC_KEY_ID, SimKeys
from gateways.simulator import SimulatorGateway

BEIJING = ZoneInfo("Asia/Shanghai")
ALIPAY_PID = "2088000000000001"  # the simulated merchant's partner id in bills


def _private(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _public(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def rsa2_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def yuan(cents: int) -> str:
    return f"{cents / 100:.2f}"


def fen(amount: str) -> int:
    """'120.00' -> 12000; anything else raises ValueError."""
    whole, _, frac = amount.strip().partition(".")
    if not whole.lstrip("-").isdigit() or len(frac) > 2 or (frac and not frac.isdigit()):
        raise ValueError(amount)
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((frac or "0").ljust(2, "0")))


def beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def from_beijing(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING).astimezone(UTC)


def beijing_day_bounds(day: str) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(day).replace(tzinfo=BEIJING)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


@dataclass(frozen=True)
class Notification:
    """What the provider posts to the merchant: a form (Alipay) or a JSON body with headers (WeChat)."""

    url: str
    form: dict[str, str] | None = None
    headers: dict[str, str] | None = None
    body: bytes = b""


# ---- Alipay ---------------------------------------------------------------------------------------


ALIPAY_STATUS = {
    TradeState.NOTPAY: "WAIT_BUYER_PAY",
    TradeState.SUCCESS: "TRADE_SUCCESS",
    TradeState.CLOSED: "TRADE_CLOSED",
    TradeState.REFUND: "TRADE_CLOSED",  # Alipay closes a fully refunded trade
}


class AlipayError(Exception):
    def __init__(self, sub_code: str, sub_msg: str, code: str = "40004", msg: str = "Business Failed") -> None:
        super().__init__(sub_msg)
        self.code, self.msg, self.sub_code, self.sub_msg = code, msg, sub_code, sub_msg


class AlipayWire:
    def __init__(self, store: SimulatorGateway, keys: SimKeys, settings: Settings) -> None:
        self.store = store
        self.app_id = settings.alipay_app_id
        self.base_url = settings.base_url.rstrip("/")
        self.api_url = (settings.paysim_api_url or settings.base_url).rstrip("/")
        self.notify_url = f"{self.base_url}/payments/notify/alipay"
        self._app_public = _public(keys.alipay_app_public)
        self._platform = _private(keys.alipay_platform_private)
        self._token_key = keys.alipay_platform_private.encode()

    # the gateway: one URL, the method in the parameters

    async def handle(self, params: dict[str, str]) -> str:
        method = params.get("method", "")
        response_type = method.replace(".", "_") + "_response"
        if not self._genuine_request(params):
            return json.dumps(
                {
                    "error_response": {
                        "code": "40002",
                        "msg": "Invalid Arguments",
                        "sub_code": "isv.invalid-signature",
                        "sub_msg": "验签出错",
                    }
                },
                ensure_ascii=False,
            )
        try:
            biz = json.loads(params.get("biz_content") or "{}")
            handler = {
                "alipay.trade.precreate": self._precreate,
                "alipay.trade.query": self._query,
                "alipay.trade.close": self._close,
                "alipay.trade.refund": self._refund,
                "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
            }.get(method)
            if handler is None:
                raise AlipayError("isv.invalid-method", "不存在的方法名", code="40002", msg="Invalid Arguments")
            body = {"code": "10000", "msg": "Success", **await handler(biz)}
        except AlipayError as exc:
            body = {"code": exc.code, "msg": exc.msg, "sub_code": exc.sub_code, "sub_msg": exc.sub_msg}
        except PaymentGatewayError as exc:
            body = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": str(exc)}
        return self.signed_response(response_type, body)

    def signed_response(self, response_type: str, body: dict[str, Any]) -> str:
        """The answer is signed over the exact JSON text of the response object."""
        inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return f'{{"{response_type}":{inner},"sign":"{rsa2_sign(self._platform, inner)}"}}'

    def _genuine_request(self, params: dict[str, str]) -> bool:
        signature = params.get("sign", "")
        if params.get("sign_type") != "RSA2" or params.get("app_id") != self.app_id or not signature:
            return False
        content = "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign",) and params[k] != "")
        return rsa2_verify(self._app_public, content, signature)

    async def _precreate(self, biz: dict[str, Any]) -> dict[str, Any]:
        out_trade = str(biz.get("out_trade_no", ""))
        if not out_trade.endswith("-alipay"):
            raise AlipayError("ACQ.INVALID_PARAMETER", "商户订单号无效")
        try:
            amount = fen(str(biz.get("total_amount", "")))
        except ValueError as exc:
            raise AlipayError("ACQ.INVALID_PARAMETER", "订单金额无效") from exc
        expires = biz.get("time_expire")
        expires_at = from_beijing(expires) if expires else datetime.now(UTC) + timedelta(minutes=30)
        try:
            trade = await self.store.precreate(
                order_no=order_no_of(out_trade),
                channel="alipay",
                amount_cents=amount,
                subject=str(biz.get("subject", "")),
                expires_at=expires_at.isoformat(),
            )
        except TradeClosed as exc:
            raise AlipayError("ACQ.TRADE_HAS_CLOSE", str(exc)) from exc
        # The real precreate gives no trade_no (the trade exists once scanned); ours has one already.
        return {"out_trade_no": trade.out_trade_no, "qr_code": trade.qr_url, "trade_no": trade.trade_no}

    async def _find(self, biz: dict[str, Any]) -> Any:
        trade = None
        if biz.get("out_trade_no"):
            trade = await self.store.query(out_trade_no=str(biz["out_trade_no"]))
        elif biz.get("trade_no"):
            found = await self.store.get_trade(str(biz["trade_no"]))
            trade = await self.store.query(out_trade_no=found.out_trade_no) if found else None
        if trade is None or trade.channel != "alipay":
            raise AlipayError("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return trade

    async def _query(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = await self._find(biz)
        row = await self.store.get_trade(trade.trade_no)
        answer = {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": ALIPAY_STATUS[trade.state],
            "total_amount": yuan(trade.amount_cents),
        }
        if row is not None and row.paid_at is not None:
            answer["send_pay_date"] = beijing(row.paid_at)
        return answer

    async def _close(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = await self._find(biz)
        if trade.state in (TradeState.SUCCESS, TradeState.REFUND):
            raise AlipayError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        await self.store.close(out_trade_no=trade.out_trade_no)
        return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}

    async def _refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = await self._find(biz)
        refund_no = str(biz.get("out_request_no") or trade.trade_no)
        try:
            receipt = await self.store.refund(
                trade_no=trade.trade_no, refund_no=refund_no, amount_cents=fen(str(biz.get("refund_amount", "")))
            )
        except ValueError as exc:
            raise AlipayError("ACQ.INVALID_PARAMETER", "退款金额无效") from exc
        except TradeNotFound as exc:
            raise AlipayError("ACQ.TRADE_NOT_EXIST", str(exc)) from exc
        except RefundRefused as exc:
            raise AlipayError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", str(exc)) from exc
        return {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "fund_change": "Y",
            "refund_fee": yuan(receipt.amount_cents),
            "gmt_refund_pay": beijing(datetime.fromisoformat(receipt.refunded_at)),
            "out_request_no": refund_no,
        }

    async def _bill_url(self, biz: dict[str, Any]) -> dict[str, Any]:
        day = str(biz.get("bill_date", ""))
        try:
            beijing_day_bounds(day)
        except ValueError as exc:
            raise AlipayError("ACQ.INVALID_PARAMETER", "账单日期格式不正确") from exc
        token = bill_token(self._token_key, day)
        return {"bill_download_url": f"{self.api_url}/paysim/alipay/bills/{day}.zip?token={token}"}

    def bill_day(self, token: str) -> str | None:
        day = token.split(".", 1)[0]
        return day if hmac.compare_digest(token, bill_token(self._token_key, day)) else None

    async def bill_zip(self, day: str) -> bytes:
        """业务明细: one CSV (GBK) in a zip, as Alipay's download URL serves it."""
        start, end = beijing_day_bounds(day)
        payments, refunds = await self.store.day_activity(start, end, "alipay")
        header = (
            "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
            "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,"
            "券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
        )
        lines = [
            "#支付宝业务明细查询",
            f"#账号：[{ALIPAY_PID}0156]",
            f"#起始日期：[{day} 00:00:00]   终止日期：[{day} 23:59:59]",
            "#-----------------------------------------业务明细列表----------------------------------------",
            header,
        ]
        for t in payments:
            lines.append(
                f"{t.trade_no},{t.out_trade_no},交易,{_csv_text(t.subject)},{beijing(t.created_at)},"
                f"{beijing(t.paid_at or t.created_at)},,,,,***,{yuan(t.amount_cents)},{yuan(t.amount_cents)},"
                "0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,0.00,0.00,"
            )
        for r, t in refunds:
            lines.append(
                f"{r.trade_no},{t.out_trade_no},退款,{_csv_text(t.subject)},{beijing(t.created_at)},"
                f"{beijing(r.created_at)},,,,,***,{yuan(t.amount_cents)},-{yuan(r.amount_cents)},0.00,0.00,0.00,"
                f"0.00,0.00,,0.00,0.00,{r.refund_no},0.00,0.00,"
            )
        paid = sum(t.amount_cents for t in payments)
        back = sum(r.amount_cents for r, _ in refunds)
        lines += [
            "#-----------------------------------------业务明细列表结束------------------------------------",
            f"#交易合计：{len(payments)}笔，商家实收共{yuan(paid)}元，商家优惠共0.00元",
            f"#退款合计：{len(refunds)}笔，商家实收退款共-{yuan(back)}元，商家优惠退款共0.00元",
            f"#导出时间：[{beijing(datetime.now(UTC))}]",
        ]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            name = f"{ALIPAY_PID}0156_{day.replace('-', '')}_业务明细.csv"
            archive.writestr(name, ("\r\n".join(lines) + "\r\n").encode("gbk"))
        return buffer.getvalue()

    def notification(self, content: dict[str, Any]) -> Notification:
        """支付结果异步通知: form parameters, RSA2 over the sorted parameters except sign and sign_type."""
        paid_at = datetime.fromisoformat(content["paid_at"])
        params = {
            "notify_time": beijing(datetime.now(UTC)),
            "notify_type": "trade_status_sync",
            "notify_id": uuid.uuid4().hex,
            "app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "trade_no": content["trade_no"],
            "out_trade_no": content["out_trade_no"],
            "trade_status": "TRADE_SUCCESS",
            "total_amount": yuan(int(content["amount_cents"])),
            "receipt_amount": yuan(int(content["amount_cents"])),
            "gmt_create": beijing(paid_at),
            "gmt_payment": beijing(paid_at),
        }
        signed = "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign", "sign_type"))
        params["sign"] = rsa2_sign(self._platform, signed)
        return Notification(url=self.notify_url, form=params)


def bill_token(key: bytes, day: str) -> str:
    """A download link that any replica of the simulator honours (no state kept between the two calls)."""
    return f"{day}.{hmac.new(key, day.encode(), hashlib.sha256).hexdigest()[:32]}"


def _csv_text(text: str) -> str:
    return text.replace(",", "，").replace("\n", " ")


# ---- WeChat Pay -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WireAnswer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    signed: bool = True


class WechatError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


WECHAT_PREFIX = "/paysim/wechat"


class WechatWire:
    def __init__(self, store: SimulatorGateway, keys: SimKeys, settings: Settings) -> None:
        self.store = store
        self.mchid = settings.wechatpay_mchid
        self.appid = settings.wechatpay_appid
        self.base_url = settings.base_url.rstrip("/")
        self.api_url = (settings.paysim_api_url or settings.base_url).rstrip("/")
        self.notify_url = f"{self.base_url}/payments/notify/wechat"
        self._merchant_public = _public(keys.wechat_merchant_public)
        self._platform = _private(keys.wechat_platform_private)
        self._apiv3_key = keys.wechat_apiv3_key.encode()
        self._token_key = keys.wechat_apiv3_key.encode()

    def signature_headers(self, body: bytes) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex.upper()
        message = f"{timestamp}\n{nonce}\n{body.decode()}\n"
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": WECHAT_PUBLIC_KEY_ID,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Wechatpay-Signature": rsa2_sign(self._platform, message),
        }

    async def handle(self, method: str, path: str, query: str, authorization: str, body: bytes) -> WireAnswer:
        """`path` is below the simulator's prefix (`/v3/...`), as the merchant signed it."""
        signed_path = f"{path}?{query}" if query else path
        try:
            if not self._genuine_request(method, signed_path, authorization, body):
                raise WechatError(401, "SIGN_ERROR", "签名错误")
            payload = json.loads(body) if body else {}
            answer = await self._route(method, path, query, payload)
        except WechatError as exc:
            data = json.dumps({"code": exc.code, "message": exc.message}, ensure_ascii=False).encode()
            return WireAnswer(exc.status, data)
        except (ValueError, KeyError, TypeError):
            data = json.dumps({"code": "PARAM_ERROR", "message": "参数错误"}, ensure_ascii=False).encode()
            return WireAnswer(400, data)
        return answer

    def _genuine_request(self, method: str, path: str, authorization: str, body: bytes) -> bool:
        scheme, _, rest = authorization.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return False
        fields = dict(part.split("=", 1) for part in rest.split(",") if "=" in part)
        fields = {k.strip(): v.strip().strip('"') for k, v in fields.items()}
        if fields.get("mchid") != self.mchid:
            return False
        timestamp = fields.get("timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return False
        message = f"{method}\n{path}\n{timestamp}\n{fields.get('nonce_str', '')}\n{body.decode()}\n"
        return rsa2_verify(self._merchant_public, message, fields.get("signature", ""))

    async def _route(self, method: str, path: str, query: str, payload: dict[str, Any]) -> WireAnswer:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v3/pay/transactions/native":
            return await self._native(payload)
        if method == "GET" and parts[:4] == ["v3", "pay", "transactions", "out-trade-no"] and len(parts) == 5:
            return await self._query_answer(await self.store.query(out_trade_no=parts[4]))
        if method == "GET" and parts[:4] == ["v3", "pay", "transactions", "id"] and len(parts) == 5:
            row = await self.store.get_trade(parts[4])
            trade = await self.store.query(out_trade_no=row.out_trade_no) if row else None
            return await self._query_answer(trade)
        if method == "POST" and parts[:4] == ["v3", "pay", "transactions", "out-trade-no"] and parts[-1] == "close":
            return await self._close(parts[4])
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            return await self._refund(payload)
        if method == "GET" and path == "/v3/bill/tradebill":
            return await self._tradebill(dict(p.split("=", 1) for p in query.split("&") if "=" in p))
        if method == "GET" and path == "/v3/billdownload/file":
            args = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            token, day = args.get("token", ""), args.get("token", "").split(".", 1)[0]
            if not hmac.compare_digest(token, bill_token(self._token_key, day)):
                raise WechatError(404, "RESOURCE_NOT_EXISTS", "账单不存在")
            data = gzip.compress((await self.tradebill(day)).encode("utf-8"), mtime=0)
            return WireAnswer(200, data, content_type="application/octet-stream", signed=False)
        raise WechatError(404, "NOT_FOUND", "接口不存在")

    @staticmethod
    def _json(data: dict[str, Any], status: int = 200) -> WireAnswer:
        return WireAnswer(status, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())

    async def _native(self, payload: dict[str, Any]) -> WireAnswer:
        if payload.get("mchid") != self.mchid or payload.get("appid") != self.appid:
            raise WechatError(400, "PARAM_ERROR", "商户号或应用ID不匹配")
        out_trade = str(payload["out_trade_no"])
        if not out_trade.endswith("-wechat"):
            raise WechatError(400, "PARAM_ERROR", "商户订单号无效")
        expires = payload.get("time_expire")
        expires_at = datetime.fromisoformat(expires) if expires else datetime.now(UTC) + timedelta(hours=2)
        try:
            trade = await self.store.precreate(
                order_no=order_no_of(out_trade),
                channel="wechat",
                amount_cents=int(payload["amount"]["total"]),
                subject=str(payload.get("description", "")),
                expires_at=expires_at.isoformat(),
            )
        except TradeClosed as exc:
            raise WechatError(400, "ORDER_CLOSED", str(exc)) from exc
        except PaymentGatewayError as exc:
            raise WechatError(400, "INVALID_REQUEST", str(exc)) from exc
        return self._json({"code_url": trade.qr_url})

    def transaction(self, trade: Any, paid_at: datetime | None) -> dict[str, Any]:
        """The transaction object of a query answer and of a payment notification's resource."""
        data: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": trade.out_trade_no,
            "trade_type": "NATIVE",
            "trade_state": trade.state,
            "trade_state_desc": {"NOTPAY": "未支付", "SUCCESS": "支付成功", "CLOSED": "已关闭", "REFUND": "转入退款"}[
                trade.state
            ],
            "amount": {"total": trade.amount_cents, "currency": "CNY"},
        }
        if paid_at is not None:
            data["transaction_id"] = trade.trade_no
            data["success_time"] = paid_at.astimezone(BEIJING).isoformat(timespec="seconds")
            data["amount"]["payer_total"] = trade.amount_cents
            data["amount"]["payer_currency"] = "CNY"
        return data

    async def _query_answer(self, trade: Any) -> WireAnswer:
        if trade is None or trade.channel != "wechat":
            raise WechatError(404, "ORDER_NOT_EXIST", "订单不存在")
        row = await self.store.get_trade(trade.trade_no)
        return self._json(self.transaction(trade, row.paid_at if row else None))

    async def _close(self, out_trade: str) -> WireAnswer:
        trade = await self.store.query(out_trade_no=out_trade)
        if trade is None:
            raise WechatError(404, "ORDER_NOT_EXIST", "订单不存在")
        if trade.state in (TradeState.SUCCESS, TradeState.REFUND):
            raise WechatError(400, "ORDERPAID", "订单已支付")
        await self.store.close(out_trade_no=out_trade)
        return WireAnswer(204)

    async def _refund(self, payload: dict[str, Any]) -> WireAnswer:
        trade_no = str(payload.get("transaction_id", ""))
        row = await self.store.get_trade(trade_no)
        if row is None or row.channel != "wechat":
            raise WechatError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        amount = payload["amount"]
        if int(amount["total"]) != row.amount_cents:
            raise WechatError(400, "INVALID_REQUEST", "订单金额与原订单不一致")
        try:
            receipt = await self.store.refund(
                trade_no=trade_no, refund_no=str(payload["out_refund_no"]), amount_cents=int(amount["refund"])
            )
        except RefundRefused as exc:
            raise WechatError(400, "INVALID_REQUEST", str(exc)) from exc
        refunded_at = datetime.fromisoformat(receipt.refunded_at).astimezone(BEIJING).isoformat("T", "seconds")
        return self._json(
            {
                "refund_id": "50" + hashlib.sha1(receipt.refund_no.encode()).hexdigest()[:26],
                "out_refund_no": receipt.refund_no,
                "transaction_id": trade_no,
                "out_trade_no": row.out_trade_no,
                "channel": "ORIGINAL",
                "status": "SUCCESS",
                "success_time": refunded_at,
                "create_time": refunded_at,
                "amount": {"total": row.amount_cents, "refund": receipt.amount_cents, "currency": "CNY"},
            }
        )

    async def _tradebill(self, args: dict[str, str]) -> WireAnswer:
        day = args.get("bill_date", "")
        try:
            beijing_day_bounds(day)
        except ValueError as exc:
            raise WechatError(400, "PARAM_ERROR", "账单日期格式不正确") from exc
        # gzipped always (tar_type=GZIP, the SDK's default); mtime 0 so the download matches the hash
        data = gzip.compress((await self.tradebill(day)).encode("utf-8"), mtime=0)
        token = bill_token(self._token_key, day)
        return self._json(
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(data).hexdigest(),
                "download_url": f"{self.api_url}{WECHAT_PREFIX}/v3/billdownload/file?token={token}",
            }
        )

    async def tradebill(self, day: str) -> str:
        """交易账单 (ALL): one line per payment and per refund, every field led by a backtick."""
        start, end = beijing_day_bounds(day)
        payments, refunds = await self.store.day_activity(start, end, "wechat")
        header = (
            "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
            "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,"
            "退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
        )
        rows = [header]

        def line(*fields: str) -> str:
            return ",".join(f"`{f}" for f in fields)

        for t in payments:
            rows.append(
                line(
                    beijing(t.paid_at or t.created_at),
                    self.appid,
                    self.mchid,
                    "0",
                    "",
                    t.trade_no,
                    t.out_trade_no,
                    "oSimUser",
                    "NATIVE",
                    "SUCCESS",
                    "OTHERS",
                    "CNY",
                    yuan(t.amount_cents),
                    "0.00",
                    "0",
                    "0",
                    "0.00",
                    "0.00",
                    "",
                    "",
                    _csv_text(t.subject),
                    "",
                    "0.00000",
                    "0.60%",
                    yuan(t.amount_cents),
                    "0.00",
                    "",
                )
            )
        for r, t in refunds:
            rows.append(
                line(
                    beijing(r.created_at),
                    self.appid,
                    self.mchid,
                    "0",
                    "",
                    r.trade_no,
                    t.out_trade_no,
                    "oSimUser",
                    "NATIVE",
                    "REFUND",
                    "OTHERS",
                    "CNY",
                    "0.00",
                    "0.00",
                    "50" + hashlib.sha1(r.refund_no.encode()).hexdigest()[:26],
                    r.refund_no,
                    yuan(r.amount_cents),
                    "0.00",
                    "ORIGINAL",
                    "SUCCESS",
                    _csv_text(t.subject),
                    "",
                    "0.00000",
                    "0.60%",
                    yuan(t.amount_cents),
                    yuan(r.amount_cents),
                    "",
                )
            )
        paid = sum(t.amount_cents for t in payments)
        back = sum(r.amount_cents for r, _ in refunds)
        rows.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
        rows.append(
            line(str(len(payments) + len(refunds)), yuan(paid), yuan(back), "0.00", "0.00000", yuan(paid), yuan(back))
        )
        return "\r\n".join(rows) + "\r\n"

    def encrypt(self, plaintext: str, associated_data: str) -> dict[str, str]:
        nonce = secrets.token_hex(6)  # 12 characters, used as bytes (as the provider does)
        ciphertext = AESGCM(self._apiv3_key).encrypt(nonce.encode(), plaintext.encode(), associated_data.encode())
        return {
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "associated_data": associated_data,
            "original_type": "transaction",
            "nonce": nonce,
        }

    def notification(self, content: dict[str, Any]) -> Notification:
        """支付成功通知: a JSON body whose resource is the encrypted transaction, signed in the headers
        at the moment it is sent (the merchant refuses old timestamps)."""
        paid_at = datetime.fromisoformat(content["paid_at"])
        amount = int(content["amount_cents"])
        transaction = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": content["out_trade_no"],
            "transaction_id": content["trade_no"],
            "trade_type": "NATIVE",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "success_time": paid_at.astimezone(BEIJING).isoformat(timespec="seconds"),
            "amount": {"total": amount, "payer_total": amount, "currency": "CNY"},
        }
        body = json.dumps(
            {
                "id": str(uuid.uuid4()),
                "create_time": datetime.now(BEIJING).isoformat(timespec="seconds"),
                "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS",
                "summary": "支付成功",
                "resource": self.encrypt(json.dumps(transaction, ensure_ascii=False), "transaction"),
            },
            ensure_ascii=False,
        ).encode()
        headers = {"Content-Type": "application/json", **self.signature_headers(body)}
        return Notification(url=self.notify_url, headers=headers, body=body)
