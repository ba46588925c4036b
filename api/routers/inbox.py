"""审核任务: the reviewer inbox for every review kind (docs/INBOX.md).

Staff see the tasks of their own queues only. 领取 and 释放 are conditional UPDATEs (the only writes
the web layer makes here); a decision goes to the task's workflow as the Update `decide`, whose
validator refuses a decided task, and the workflow closes the task through an activity.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from temporalio.service import RPCError, RPCStatusCode

from api.deps import CurrentStaff, SessionDep, SettingsDep, TemporalDep
from api.deps import release as release_connection
from api.inbox_kinds import kind_templates, load_submission
from api.pages import page_numbers
from api.templating import SHANGHAI, is_htmx, render
from db.base import utcnow
from db.models.tasks import ReviewTask, SavedTaskFilter, TaskEvent, TaskStatus
from db.models.users import User
from db.task_events import add_event
from domain.errors import DomainError
from domain.review import Decision, ItemDecision, TaskKind, leads_queue, queues_for

router = APIRouter(tags=["inbox"])

INBOX_PAGE_SIZE = 15
STATUS_CHOICES = {"open": "待处理", "decided": "已处理", "cancelled": "已撤回", "all": "全部"}
# the list's order: the earliest due first unless the reviewer picks another
SORT_CHOICES = {"due": "截止时间（最早在前）", "due_desc": "截止时间（最晚在前）", "newest": "提交时间（最新在前）"}
SORT_ORDER = {
    "due": (ReviewTask.due_at, ReviewTask.id),
    "due_desc": (ReviewTask.due_at.desc(), ReviewTask.id.desc()),
    "newest": (ReviewTask.created_at.desc(), ReviewTask.id.desc()),
}
DEFAULT_SORT = "due"
# how long a decision waits for the workflow to close the task before the page is drawn anyway
CLOSE_WAIT_SECONDS = 5.0


def my_queues(user: User) -> list[str]:
    return queues_for(user.role, user.school_id)


async def task_for(session: AsyncSession, user: User, task_id: int) -> ReviewTask:
    """A task of one of my queues; another queue's task is refused as Forbidden."""
    task = await session.get(ReviewTask, task_id)
    if task is None:
        raise DomainError("TaskNotFound")
    if task.queue not in my_queues(user):
        raise DomainError("Forbidden")
    return task


# ---- list and badge ----------------------------------------------------------------------------


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filtered(
    user: User, kind: str, status: str, day_from: date | None, day_to: date | None, overdue: bool
) -> Select[Any]:
    query = select(ReviewTask).where(ReviewTask.queue.in_(my_queues(user)))
    if kind:
        query = query.where(ReviewTask.kind == kind)
    if status in (TaskStatus.OPEN, TaskStatus.DECIDED, TaskStatus.CANCELLED):
        query = query.where(ReviewTask.status == status)
    # the dates are days in Asia/Shanghai, as the page shows them
    if day_from is not None:
        query = query.where(ReviewTask.created_at >= datetime.combine(day_from, time(), SHANGHAI))
    if day_to is not None:
        query = query.where(ReviewTask.created_at < datetime.combine(day_to + timedelta(days=1), time(), SHANGHAI))
    if overdue:
        query = query.where(ReviewTask.overdue.is_(True))
    return query


def list_filters(kind: str, status: str, date_from: str, date_to: str, overdue: str, sort: str) -> dict[str, str]:
    """The list's filter fields, cleaned: what the page shows, its links carry and 常用筛选 saves."""
    day_from, day_to = _parse_day(date_from), _parse_day(date_to)
    return {
        "kind": kind,
        "status": status if status in STATUS_CHOICES else "open",
        "date_from": day_from.isoformat() if day_from else "",
        "date_to": day_to.isoformat() if day_to else "",
        "overdue": "1" if overdue else "",
        "sort": sort if sort in SORT_CHOICES and sort != DEFAULT_SORT else "",
    }


async def queue_members(session: AsyncSession, queue: str) -> list[User]:
    """Staff who may claim the queue's tasks (the candidates of 改派)."""
    staff = (await session.scalars(select(User).where(User.username.is_not(None)).order_by(User.id))).all()
    return [u for u in staff if u.is_staff and queue in queues_for(u.role, u.school_id)]


async def _names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {uid: name for uid, name in rows}


@router.get("/staff/tasks", response_class=HTMLResponse)
async def task_list(
    request: Request,
    user: CurrentStaff,
    session: SessionDep,
    kind: str = "",
    status: str = "open",
    date_from: str = "",
    date_to: str = "",
    overdue: str = "",
    sort: str = "",
    page: int = 1,
) -> Response:
    filters = list_filters(kind, status, date_from, date_to, overdue, sort)
    day_from, day_to = _parse_day(filters["date_from"]), _parse_day(filters["date_to"])
    query = _filtered(user, filters["kind"], filters["status"], day_from, day_to, bool(filters["overdue"]))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    paging = page_numbers(page, total, INBOX_PAGE_SIZE)
    # the earliest due first by default (what needs doing next)
    order = SORT_ORDER[filters["sort"] or DEFAULT_SORT]
    tasks = (
        await session.scalars(
            query.order_by(*order).offset((paging["page"] - 1) * INBOX_PAGE_SIZE).limit(INBOX_PAGE_SIZE)
        )
    ).all()
    names = await _names(session, {t.submitter_id for t in tasks} | {t.assignee_id for t in tasks})
    saved = (
        await session.scalars(
            select(SavedTaskFilter).where(SavedTaskFilter.user_id == user.id).order_by(SavedTaskFilter.name)
        )
    ).all()
    base_url = "/staff/tasks?" + urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "inbox/list.html",
        {
            "tasks": tasks,
            "names": names,
            "paging": paging,
            "filters": filters,
            "base_url": base_url,
            "statuses": STATUS_CHOICES,
            "sorts": SORT_CHOICES,
            "now": utcnow(),
            "saved": saved,
            # 批量处理 needs tasks of one kind: offered once the list is filtered to one open kind
            "bulk": bool(filters["kind"]) and filters["status"] == "open",
            "me": user.id,
        },
        block="list",
    )


@router.get("/staff/tasks/count", response_class=HTMLResponse)
async def task_count(user: CurrentStaff, session: SessionDep) -> Response:
    """The nav badge: open tasks of my queues (empty when none, so the badge hides)."""
    count = await session.scalar(
        select(func.count())
        .select_from(ReviewTask)
        .where(ReviewTask.queue.in_(my_queues(user)), ReviewTask.status == TaskStatus.OPEN)
    )
    return HTMLResponse(str(count) if count else "")


# ---- one task ----------------------------------------------------------------------------------


async def _detail_context(
    session: AsyncSession, user: User, task: ReviewTask, settings: Any
) -> dict[str, Any]:
    events = (
        await session.scalars(select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.seq))
    ).all()
    names = await _names(
        session, {task.submitter_id, task.assignee_id, task.decided_by} | {e.actor_id for e in events}
    )
    mine = task.assignee_id == user.id
    # 改派: the queue's lead may hand a claimed open task to another reviewer of the queue
    can_reassign = (
        leads_queue(user.role, task.queue) and task.status == TaskStatus.OPEN and task.assignee_id is not None
    )
    candidates = []
    if can_reassign:
        candidates = [m for m in await queue_members(session, task.queue) if m.id != task.assignee_id]
    return {
        "can_reassign": can_reassign,
        "reassign_candidates": candidates,
        "task": task,
        "events": events,
        "names": names,
        "reason_example": TaskKind.REASON_EXAMPLES.get(task.kind, "例如：材料不完整，请补充后重新提交"),
        "sub": await load_submission(session, task),
        "kind_templates": kind_templates(task.kind),
        "is_open": task.status == TaskStatus.OPEN,
        "claimed_by_me": mine,
        "can_decide": task.status == TaskStatus.OPEN and mine,
        "temporal_url": (
            f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{task.workflow_id}"
        ),
    }


async def render_detail(
    request: Request, session: AsyncSession, user: User, task_id: int, settings: Any, flash: str = ""
) -> Response:
    task = await task_for(session, user, task_id)
    await session.refresh(task)  # re-read: the claim or the workflow's activity changed the row
    ctx = await _detail_context(session, user, task, settings)
    return render(
        request,
        "inbox/detail.html",
        {**ctx, "flash": flash, "flash_kind": "success"},
        block="task",
        headers={"HX-Trigger": "taskChanged"} if request.method == "POST" else None,
    )


@router.get("/staff/tasks/{task_id}", response_class=HTMLResponse)
async def task_detail(
    task_id: int, request: Request, user: CurrentStaff, session: SessionDep, settings: SettingsDep
) -> Response:
    return await render_detail(request, session, user, task_id, settings)


def after_post(request: Request, task_id: int, response: Response) -> Response:
    """htmx gets the redrawn task; a plain form post goes back to the task page."""
    if is_htmx(request):
        return response
    return RedirectResponse(f"/staff/tasks/{task_id}", status_code=303)


@router.post("/staff/tasks/{task_id}/claim")
async def claim(
    task_id: int, request: Request, user: CurrentStaff, session: SessionDep, settings: SettingsDep
) -> Response:
    task = await task_for(session, user, task_id)
    result = await session.execute(
        update(ReviewTask)
        .where(ReviewTask.id == task.id, ReviewTask.status == TaskStatus.OPEN, ReviewTask.assignee_id.is_(None))
        .values(assignee_id=user.id, claimed_at=utcnow())
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        await add_event(session, task.id, "claimed", user.id)
        await session.commit()
    else:
        # nothing was updated: find out why (a rollback would expire the signed-in user too)
        await session.refresh(task)
        if task.status != TaskStatus.OPEN:
            raise DomainError("TaskAlreadyDecided")
        if task.assignee_id != user.id:
            raise DomainError("TaskClaimedByOther")
        # claimed by me already (a double click): nothing to do
    response = await render_detail(request, session, user, task_id, settings, flash="已领取，请审核后提交结果")
    return after_post(request, task_id, response)


@router.post("/staff/tasks/{task_id}/release")
async def release(
    task_id: int, request: Request, user: CurrentStaff, session: SessionDep, settings: SettingsDep
) -> Response:
    task = await task_for(session, user, task_id)
    result = await session.execute(
        update(ReviewTask)
        .where(ReviewTask.id == task.id, ReviewTask.status == TaskStatus.OPEN, ReviewTask.assignee_id == user.id)
        .values(assignee_id=None, claimed_at=None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(task)
        if task.status != TaskStatus.OPEN:
            raise DomainError("TaskAlreadyDecided")
        raise DomainError("TaskClaimedByOther" if task.assignee_id is not None else "TaskNotClaimed")
    await add_event(session, task.id, "released", user.id)
    await session.commit()
    response = await render_detail(request, session, user, task_id, settings, flash="已释放，其他审核员可以领取")
    return after_post(request, task_id, response)


def decision_from_form(form: FormData, task_id: int, reviewer_id: int) -> Decision:
    """`decision` = approve/reject and `reason`; per-item kinds add `item-<id>` and `reason-<id>`.
    Without an overall `decision`, a per-item form is approved when no item is rejected."""
    items: dict[str, ItemDecision] = {}
    for key, value in form.multi_items():
        if key.startswith("item-") and value in ("approve", "reject"):
            item_id = key.removeprefix("item-")
            items[item_id] = ItemDecision(
                approve=value == "approve", reason=str(form.get(f"reason-{item_id}") or "").strip()
            )
    overall = str(form.get("decision") or "")
    if overall not in ("approve", "reject"):
        if not items:
            raise DomainError("DecisionRequired")
        overall = "approve" if all(i.approve for i in items.values()) else "reject"
    return Decision(
        task_id=task_id,
        reviewer_id=reviewer_id,
        approve=overall == "approve",
        reason=str(form.get("reason") or "").strip(),
        items=items,
    )


@router.post("/staff/tasks/{task_id}/decide")
async def decide(
    task_id: int,
    request: Request,
    user: CurrentStaff,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Response:
    task = await task_for(session, user, task_id)
    if task.status != TaskStatus.OPEN:
        raise DomainError("TaskAlreadyDecided")
    if task.assignee_id is None:
        raise DomainError("TaskNotClaimed")
    if task.assignee_id != user.id:
        raise DomainError("TaskClaimedByOther")
    decision = decision_from_form(await request.form(), task.id, user.id)
    # the workflow's validator refuses a decided task or a rejection without reason (-> #flash)
    await release_connection(session)  # no connection held while the workflow decides
    try:
        await client.get_workflow_handle(task.workflow_id).execute_update("decide", decision, result_type=str)
    except RPCError as err:
        # the process has already ended (or is gone): nothing can be decided any more
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION) or "completed" in err.message:
            raise DomainError("TaskAlreadyDecided") from err
        raise
    await _wait_closed(session, task.id)
    flash = "已通过" if decision.approve else "已驳回"
    response = await render_detail(request, session, user, task_id, settings, flash=f"审核结果已提交：{flash}")
    return after_post(request, task_id, response)


async def _wait_closed(session: AsyncSession, task_id: int) -> None:
    """The workflow closes the task through an activity; most review workflows answer `decide` only
    after that, this wait covers those that answer first."""
    deadline = asyncio.get_running_loop().time() + CLOSE_WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        status = await session.scalar(select(ReviewTask.status).where(ReviewTask.id == task_id))
        if status != TaskStatus.OPEN:
            return
        await asyncio.sleep(0.1)


