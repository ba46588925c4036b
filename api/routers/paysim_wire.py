"""The embedded provider's APIs, as the merchant's SDKs call them (`gateways/paysim_wire.py`):
Alipay's openapi gateway under /paysim/alipay, WeChat Pay's API v3 under /paysim/wechat.

Server to server: no session, no CSRF token; every request is checked against the merchant's
signature, and every answer is signed with the simulated provider's key."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from gateways.paysim_wire import WECHAT_PREFIX, AlipayWire, WechatWire

router = APIRouter(tags=["paysim"], include_in_schema=False)


def _alipay(request: Request) -> AlipayWire:
    wire: AlipayWire = request.app.state.alipay_wire
    return wire


def _wechat(request: Request) -> WechatWire:
    wire: WechatWire = request.app.state.wechat_wire
    return wire


@router.api_route("/paysim/alipay/gateway.do", methods=["GET", "POST"])
async def alipay_gateway(request: Request) -> Response:
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params |= {k: v for k, v in form.items() if isinstance(v, str)}
    text = await _alipay(request).handle(params)
    return Response(text, media_type="application/json;charset=utf-8")


@router.get("/paysim/alipay/bills/{day}.zip")
async def alipay_bill(day: str, token: str, request: Request) -> Response:
    wire = _alipay(request)
    if wire.bill_day(token) != day:
        raise HTTPException(status_code=404, detail="账单不存在或链接已失效")
    return Response(await wire.bill_zip(day), media_type="application/zip")


@router.api_route("/paysim/wechat/{rest:path}", methods=["GET", "POST"])
async def wechat_api(rest: str, request: Request) -> Response:
    wire = _wechat(request)
    path = request.url.path.removeprefix(WECHAT_PREFIX)
    answer = await wire.handle(
        request.method, path, request.url.query, request.headers.get("authorization", ""), await request.body()
    )
    headers = wire.signature_headers(answer.body) if answer.signed else {}
    return Response(answer.body, status_code=answer.status, media_type=answer.content_type, headers=headers)
