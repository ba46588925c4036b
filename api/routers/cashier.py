"""收银台 / 支付收费平台: choose 支付宝 or 微信支付, 下一步, then the QR code to scan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import CurrentTrainee, SessionDep, TemporalDep, release
from api.orders_service import own_order
from api.templating import render
from db.models.catalog import School
from domain.catalog import PaymentChannel
from domain.orders import validate_channel
from media.qr import qr_data_uri
from workflows.order import OrderWorkflow, order_workflow_id

router = APIRouter(tags=["cashier"])


@router.get("/cashier/{order_no}", response_class=HTMLResponse)
async def cashier(order_no: str, request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    order = await own_order(session, user, order_no)
    school = await session.get(School, order.school_id)
    return render(
        request,
        "cashier/cashier.html",
        {"order": order, "channels": list(PaymentChannel), "school_name": school.name if school else ""},
    )


@router.post("/cashier/{order_no}/next", response_class=HTMLResponse)
async def next_step(
    order_no: str,
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    channel: Annotated[str, Form()] = "",
) -> Response:
    order = await own_order(session, user, order_no)
    validate_channel(channel)
    # no connection held while the workflow opens the trade: the embedded simulator that answers
    # the precreate is served by this same process and needs one
    await release(session)
    view = await client.get_workflow_handle(order_workflow_id(order_no)).execute_update(
        OrderWorkflow.open_trade, channel
    )
    assert view.qr_url is not None
    return render(
        request,
        "cashier/qr.html",
        {"order": order, "view": view, "qr": qr_data_uri(view.qr_url), "channel": PaymentChannel(channel)},
        block="card",
    )
