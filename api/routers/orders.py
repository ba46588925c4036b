"""课程购买: checkout, the pay page, cancel, the trainee's orders (支付中心 · 我的订单)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from api.deps import CurrentTrainee, SessionDep, SettingsDep, TemporalDep, release
from api.orders_service import own_order, place_order
from api.pages import paginate, trainee_context
from api.settlements import Settlements
from api.templating import is_htmx, redirect, render
from db.models.orders import Enrollment, Order, OrderStatus
from domain.catalog import TrainingType
from domain.errors import DomainError
from workflows.order import OrderWorkflow, order_workflow_id

router = APIRouter(tags=["orders"])


@router.post("/orders")
async def checkout(
    request: Request,
    user: CurrentTrainee,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    training_type: Annotated[str, Form()] = "",
    training_year: Annotated[str, Form()] = "",
    course_ids: Annotated[list[int] | None, Form()] = None,
    checkout_key: Annotated[str, Form()] = "",
) -> Response:
    """The form carries a key drawn when it was shown: sent again (a retry, a double click), it
    answers with the order it made the first time."""
    view = await place_order(
        session=session,
        client=client,
        settings=settings,
        trainee=user,
        course_ids=list(dict.fromkeys(course_ids or [])),
        training_year=int(training_year) if training_year.isdigit() else None,
        training_type=training_type,
        now=datetime.now(UTC),
        checkout_key=checkout_key.strip() or None,
    )
    return redirect(request, f"/orders/{view.order_no}/pay")


@router.get("/orders/{order_no}/pay", response_class=HTMLResponse)
async def pay_page(order_no: str, request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    order = await own_order(session, user, order_no)
    ctx = await trainee_context(request, session, user)
    ttype = order.training_type
    label = TrainingType(ttype).label if ttype in set(TrainingType) else ttype
    return render(request, "orders/pay.html", {**ctx, "order": order, "training_type_label": label})


@router.post("/orders/{order_no}/cancel")
async def cancel_order(
    order_no: str, request: Request, user: CurrentTrainee, session: SessionDep, client: TemporalDep
) -> Response:
    await own_order(session, user, order_no)
    await release(session)  # the close at the (embedded) provider needs a connection of this process
    await client.get_workflow_handle(order_workflow_id(order_no)).execute_update(OrderWorkflow.cancel)
    return redirect(request, f"/orders/{order_no}")


STATUS_WAIT_MAX = 20.0  # seconds a status request may be held (the QR page asks again at once)
STOP_POLLING = 286  # htmx: swap this answer and stop polling (the order was closed or cancelled)


@router.get("/orders/{order_no}/status", response_class=HTMLResponse)
async def order_status(
    order_no: str, request: Request, user: CurrentTrainee, session: SessionDep, wait: float = 0
) -> Response:
    """Polled by the QR page, which passes `wait`: the answer comes as soon as the payment is in (or
    after `wait` seconds), and moves the browser on to 我的课程 by itself."""

    async def read_status() -> str:
        status = await session.scalar(
            select(Order.status).where(Order.order_no == order_no, Order.trainee_id == user.id)
        )
        await release(session)  # no connection held while the request waits
        if status is None:
            raise DomainError("OrderNotFound")
        return status

    status = await read_status()
    if not is_htmx(request):  # opened by hand: the order's own page says it all
        return redirect(request, f"/orders/{order_no}")
    if status == OrderStatus.PENDING and wait > 0:
        settlements: Settlements = request.app.state.settlements
        status = await settlements.wait(order_no, read_status, OrderStatus.PENDING, min(wait, STATUS_WAIT_MAX))
    if status in OrderStatus.SETTLED:
        return Response(status_code=204, headers={"HX-Redirect": "/my/courses"})
    order = {"status": status, "status_label": OrderStatus.LABELS.get(status, status)}
    code = 200 if status == OrderStatus.PENDING else STOP_POLLING
    return render(request, "cashier/qr.html", {"order": order}, block="status", status_code=code)


@router.get("/orders/{order_no}", response_class=HTMLResponse)
async def order_detail(order_no: str, request: Request, user: CurrentTrainee, session: SessionDep) -> Response:
    order = await own_order(session, user, order_no)
    # what became of each line: its enrollment, under the course it was swapped to (换课) if any
    enrollments = (
        await session.scalars(
            select(Enrollment).where(Enrollment.order_no == order_no).options(joinedload(Enrollment.course))
        )
    ).all()
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "orders/detail.html",
        {**ctx, "order": order, "enrollments": {e.order_item_id: e for e in enrollments}, "active": "orders"},
    )


@router.get("/my/orders", response_class=HTMLResponse)
async def my_orders(request: Request, user: CurrentTrainee, session: SessionDep, page: int = 1) -> Response:
    base = select(Order).where(Order.trainee_id == user.id)
    orders, paging = await paginate(
        session,
        base,
        page,
        order_by=[Order.created_at.desc()],
        options=[selectinload(Order.items), selectinload(Order.refunds)],
    )
    ctx = await trainee_context(request, session, user)
    return render(request, "orders/list.html", {**ctx, "orders": orders, "paging": paging, "active": "orders"})
