"""The inbox for volume (docs/INBOX.md): 批量领取 / 批量通过, 常用筛选 per reviewer, 评论 on a task,
and 改派 of a claimed task by the queue's lead. The task list and one task's page: routers/inbox.py."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import CurrentStaff, SessionDep, SettingsDep, TemporalDep
from api.inbox_bulk import BulkOutcome, approve_many, claim_many, selected_tasks
from api.routers.inbox import (
    CLOSE_WAIT_SECONDS,
    after_post,
    list_filters,
    queue_members,
    render_detail,
    task_for,
)
from api.templating import is_htmx, render
from db.base import utcnow
from db.models.tasks import ReviewTask, SavedTaskFilter, TaskStatus
from db.models.users import User
from db.task_events import add_event
from domain.errors import DomainError
from domain.review import leads_queue

router = APIRouter(tags=["inbox"])

CHANGED = {"HX-Trigger": "taskChanged"}  # the list and the nav badge redraw themselves
QUERY_MAX = 300  # SavedTaskFilter.query


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.strip().isdigit()]


def _bulk_result(request: Request, verb: str, outcome: BulkOutcome) -> Response:
    response = render(
        request, "inbox/_bulk_result.html", {"verb": verb, "outcome": outcome}, headers=CHANGED
    )
    if is_htmx(request):
        return response
    return RedirectResponse("/staff/tasks", status_code=303)


@router.post("/staff/tasks/bulk-claim", response_class=HTMLResponse)
async def bulk_claim(request: Request, user: CurrentStaff, session: SessionDep) -> Response:
    form = await request.form()
    tasks = await selected_tasks(session, user, _ids([str(v) for v in form.getlist("task_ids")]))
    return _bulk_result(request, "领取", await claim_many(session, user, tasks))


@router.post("/staff/tasks/bulk-approve", response_class=HTMLResponse)
async def bulk_approve(request: Request, user: CurrentStaff, session: SessionDep, client: TemporalDep) -> Response:
    form = await request.form()
    tasks = await selected_tasks(session, user, _ids([str(v) for v in form.getlist("task_ids")]))
    outcome = await approve_many(session, client, user, tasks, str(form.get("reason") or "").strip())
    await _wait_closed(session, outcome.done)
    return _bulk_result(request, "通过", outcome)


async def _wait_closed(session: AsyncSession, task_ids: list[int]) -> None:
    """Each workflow closes its task through an activity: wait (a little) so the list is current."""
    deadline = asyncio.get_running_loop().time() + CLOSE_WAIT_SECONDS
    while task_ids and asyncio.get_running_loop().time() < deadline:
        still_open = await session.scalar(
            select(ReviewTask.id).where(ReviewTask.id.in_(task_ids), ReviewTask.status == TaskStatus.OPEN).limit(1)
        )
        if still_open is None:
            return
        await asyncio.sleep(0.1)


# ---- 常用筛选: saved filters, each reviewer's own ----------------------------------------------------


async def _saved(session: AsyncSession, user: User) -> list[SavedTaskFilter]:
    query = select(SavedTaskFilter).where(SavedTaskFilter.user_id == user.id).order_by(SavedTaskFilter.name)
    return list((await session.scalars(query)).all())


def _render_saved(request: Request, saved: list[SavedTaskFilter], flash: str = "") -> Response:
    return render(request, "inbox/_saved_filters.html", {"saved": saved, "saved_flash": flash})


@router.post("/staff/tasks/filters", response_class=HTMLResponse)
async def save_filter(request: Request, user: CurrentStaff, session: SessionDep) -> Response:
    form = await request.form()
    name = str(form.get("filter_name") or "").strip()
    if not name:
        raise DomainError("FilterNameRequired")
    filters = list_filters(
        kind=str(form.get("kind") or ""),
        status=str(form.get("status") or "open"),
        date_from=str(form.get("date_from") or ""),
        date_to=str(form.get("date_to") or ""),
        overdue=str(form.get("overdue") or ""),
        sort=str(form.get("sort") or ""),
    )
    query = urlencode({k: v for k, v in filters.items() if v})
    if len(query) > QUERY_MAX:  # only a hand-made kind can make it this long
        raise DomainError("TextTooLong", f"筛选条件不能超过{QUERY_MAX}个字符")
    session.add(SavedTaskFilter(user_id=user.id, name=name, query=query))
    try:
        await session.commit()
    except IntegrityError:
        raise DomainError("FilterNameTaken") from None
    if not is_htmx(request):
        return RedirectResponse("/staff/tasks", status_code=303)
    return _render_saved(request, await _saved(session, user), flash=f"已保存常用筛选「{name}」")


@router.post("/staff/tasks/filters/{filter_id}/delete", response_class=HTMLResponse)
async def delete_filter(filter_id: int, request: Request, user: CurrentStaff, session: SessionDep) -> Response:
    saved = await session.get(SavedTaskFilter, filter_id)
    if saved is None or saved.user_id != user.id:  # another reviewer's filter is not there for me
        raise DomainError("NotFound")
    await session.delete(saved)
    await session.commit()
    if not is_htmx(request):
        return RedirectResponse("/staff/tasks", status_code=303)
    return _render_saved(request, await _saved(session, user), flash="已删除")


# ---- 评论 and 改派 on one task ------------------------------------------------------------------------


@router.post("/staff/tasks/{task_id}/comments", response_class=HTMLResponse)
async def comment(
    task_id: int, request: Request, user: CurrentStaff, session: SessionDep, settings: SettingsDep
) -> Response:
    """Any reviewer of the task's queue may comment, open or decided: an entry of the audit trail."""
    task = await task_for(session, user, task_id)
    text = str((await request.form()).get("comment") or "").strip()
    if not text:
        raise DomainError("CommentRequired")
    await add_event(session, task.id, "commented", user.id, text)
    await session.commit()
    response = await render_detail(request, session, user, task_id, settings, flash="评论已发表")
    return after_post(request, task_id, response)


@router.post("/staff/tasks/{task_id}/reassign", response_class=HTMLResponse)
async def reassign(
    task_id: int, request: Request, user: CurrentStaff, session: SessionDep, settings: SettingsDep
) -> Response:
    """改派: the queue's lead hands a claimed task to another reviewer of the queue."""
    task = await task_for(session, user, task_id)
    if not leads_queue(user.role, task.queue):
        raise DomainError("ReassignLeadOnly")
    raw = str((await request.form()).get("assignee_id") or "")
    members = {m.id: m for m in await queue_members(session, task.queue)}
    target = members.get(int(raw)) if raw.isdigit() else None
    if task.status != TaskStatus.OPEN:
        raise DomainError("TaskAlreadyDecided")
    if task.assignee_id is None:
        raise DomainError("TaskNotClaimed")
    if target is None or target.id == task.assignee_id:
        raise DomainError("ReassignTargetInvalid")
    previous = task.assignee_id
    # conditional: the task is still open and still with the reviewer the lead saw
    result = await session.execute(
        update(ReviewTask)
        .where(ReviewTask.id == task.id, ReviewTask.status == TaskStatus.OPEN, ReviewTask.assignee_id == previous)
        .values(assignee_id=target.id, claimed_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.commit()
        await session.refresh(task)
        raise DomainError("TaskAlreadyDecided" if task.status != TaskStatus.OPEN else "TaskNotClaimed")
    was = members[previous].name if previous in members else f"#{previous}"
    await add_event(session, task.id, "reassigned", user.id, f"由 {was} 改派给 {target.name}")
    await session.commit()
    response = await render_detail(request, session, user, task_id, settings, flash=f"已改派给 {target.name}")
    return after_post(request, task_id, response)
