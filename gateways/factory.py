"""The one place that builds the payment gateway, for the worker and for the web app.

Both channels' adapters sit behind one `PaymentGateway` that routes each call by channel. Where
config.py names no provider URL and keys, they point at the embedded simulator (BASE_URL/paysim/...,
keys under var/paysim/, generated at first start); going live is a matter of those settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from config import Settings
from gateways.alipay import AlipayGateway
from gateways.payment import (
    BillEntry,
    PaymentGatewayError,
    PaymentNotice,
    RefundReceipt,
    RefundRefused,
    Trade,
    channel_of_trade_no,
)
from gateways.paysim_keys import WECHAT_MERCHANT_SERIAL, WECHAT_PUBLIC_KEY_ID, load_sim_keys
from gateways.paysim_wire import WECHAT_PREFIX
from gateways.wechatpay import WechatPayGateway

CHANNELS = ("alipay", "wechat")


class ChannelGateway:
    """PaymentGateway over one adapter per channel."""

    def __init__(self, alipay: AlipayGateway, wechat: WechatPayGateway) -> None:
        self.adapters: dict[str, AlipayGateway | WechatPayGateway] = {"alipay": alipay, "wechat": wechat}

    def adapter(self, channel: str) -> AlipayGateway | WechatPayGateway:
        try:
            return self.adapters[channel]
        except KeyError:
            raise PaymentGatewayError(f"不支持的支付方式：{channel}") from None

    async def precreate(
        self, *, order_no: str, channel: str, amount_cents: int, subject: str, expires_at: str
    ) -> Trade:
        if amount_cents <= 0:
            raise PaymentGatewayError("支付金额必须大于零")
        return await self.adapter(channel).precreate(
            order_no=order_no, channel=channel, amount_cents=amount_cents, subject=subject, expires_at=expires_at
        )

    async def query(self, *, out_trade_no: str) -> Trade | None:
        return await self.adapter(out_trade_no.rsplit("-", 1)[-1]).query(out_trade_no=out_trade_no)

    async def close(self, *, out_trade_no: str) -> None:
        await self.adapter(out_trade_no.rsplit("-", 1)[-1]).close(out_trade_no=out_trade_no)

    async def refund(self, *, trade_no: str, refund_no: str, amount_cents: int) -> RefundReceipt:
        if amount_cents <= 0:
            raise RefundRefused("退款金额必须大于零")
        return await self.adapter(channel_of_trade_no(trade_no)).refund(
            trade_no=trade_no, refund_no=refund_no, amount_cents=amount_cents
        )

    def verify_notification(self, channel: str, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        return self.adapter(channel).verify_notification(channel, headers, body)

    async def bill(self, *, channel: str, day: str) -> list[BillEntry]:
        return await self.adapter(channel).bill(channel=channel, day=day)


def _read(path: str) -> str:
    return Path(path).read_text()


def build_gateway(settings: Settings) -> ChannelGateway:
    base = settings.base_url.rstrip("/")
    api = (settings.paysim_api_url or settings.base_url).rstrip("/")  # the simulator, from the worker
    sim = load_sim_keys(settings.var_dir)
    alipay = AlipayGateway(
        app_id=settings.alipay_app_id,
        gateway_url=settings.alipay_gateway_url or f"{api}/paysim/alipay/gateway.do",
        notify_url=f"{base}/payments/notify/alipay",
        app_private_key=_read(settings.alipay_app_private_key_file)
        if settings.alipay_app_private_key_file
        else sim.alipay_app_private,
        alipay_public_key=_read(settings.alipay_public_key_file)
        if settings.alipay_public_key_file
        else sim.alipay_public,
    )
    wechat = WechatPayGateway(
        mchid=settings.wechatpay_mchid,
        appid=settings.wechatpay_appid,
        api_url=settings.wechatpay_api_url or f"{api}{WECHAT_PREFIX}",
        notify_url=f"{base}/payments/notify/wechat",
        private_key=_read(settings.wechatpay_private_key_file)
        if settings.wechatpay_private_key_file
        else sim.wechat_merchant_private,
        cert_serial_no=settings.wechatpay_cert_serial_no or WECHAT_MERCHANT_SERIAL,
        apiv3_key=settings.wechatpay_apiv3_key or sim.wechat_apiv3_key,
        public_key=_read(settings.wechatpay_public_key_file)
        if settings.wechatpay_public_key_file
        else sim.wechat_platform_public,
        public_key_id=settings.wechatpay_public_key_id or WECHAT_PUBLIC_KEY_ID,
    )
    return ChannelGateway(alipay, wechat)
