"""Turns refusals (domain rules, workflow Updates, HTTP errors) into Chinese messages on the page."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.templating import is_htmx, redirect, render
from domain.errors import MESSAGES, DomainError

log = logging.getLogger(__name__)


class LoginRequired(Exception):
    def __init__(self, staff: bool = False) -> None:
        self.staff = staff


def message_for_update_failure(err: WorkflowUpdateFailedError) -> tuple[str, str]:
    """(code, Chinese message) of a refused Update; the workflow raises ApplicationError(type=code)."""
    cause: BaseException | None = err.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    if isinstance(cause, ApplicationError) and cause.type:
        return cause.type, MESSAGES.get(cause.type, cause.message)
    return "Unknown", "操作未能完成，请稍后重试"


def error_response(request: Request, message: str, status_code: int) -> Response:
    """An htmx request gets the message in the page's flash area; a plain request an error page."""
    if is_htmx(request):
        return HTMLResponse(
            f'<div class="alert alert-error" role="alert">{_escape(message)}</div>',
            status_code=status_code,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    return render(request, "error.html", {"message": message, "status_code": status_code}, status_code=status_code)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


STATUS_FOR_CODE = {"NotFound": 404, "OrderNotFound": 404, "Forbidden": 403}
STATUS_FOR_CODE.update({"TaskNotFound": 404, "InvoiceNotFound": 404})
STATUS_FOR_CODE.update({"CourseNotFound": 404, "PageNotFound": 404})
STATUS_FOR_CODE.update({"CourseNotYours": 403})
STATUS_FOR_CODE.update({"OtherUnitRoster": 403, "NotUnitMember": 403, "NoticeNotFound": 404})


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return error_response(request, exc.message, STATUS_FOR_CODE.get(exc.code, 422))

    @app.exception_handler(WorkflowUpdateFailedError)
    async def _update(request: Request, exc: WorkflowUpdateFailedError) -> Response:
        code, message = message_for_update_failure(exc)
        return error_response(request, message, STATUS_FOR_CODE.get(code, 422))

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return redirect(request, "/staff/login" if exc.staff else "/login")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        log.info("invalid request %s: %s", request.url.path, exc.errors())
        if is_path_error(exc):  # /courses/abc names no page: the site's not-found answer, not a form error
            return error_response(request, MESSAGES["PageNotFound"], 404)
        return error_response(request, "提交的内容不完整或格式不正确，请检查后重试", 422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        default = {404: "页面不存在", 403: "无权访问", 405: "不支持的操作"}.get(exc.status_code, "请求有误")
        message = exc.detail if isinstance(exc.detail, str) and exc.detail else default
        if message in ("Not Found", "Forbidden", "Method Not Allowed"):
            message = default
        return error_response(request, message, exc.status_code)

    # Temporal unreachable (a dev-server restart, a network fault): nothing was changed, since the
    # web layer changes a process only through Temporal; the person is told to try again.
    @app.exception_handler(RPCError)
    async def _temporal_down(request: Request, exc: RPCError) -> Response:
        log.warning("Temporal call failed on %s: %s (%s)", request.url.path, exc, exc.status)
        return temporal_unavailable(request)

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def _update_timeout(request: Request, exc: WorkflowUpdateRPCTimeoutOrCancelledError) -> Response:
        log.warning("Temporal update timed out on %s: %s", request.url.path, exc)
        return temporal_unavailable(request)


    @app.exception_handler(RuntimeError)
    async def _runtime(request: Request, exc: RuntimeError) -> Response:
        # a client that has not reached the server yet (lazy, or reconnecting) fails like this
        if not is_temporal_connect_failure(exc):
            raise exc
        log.warning("Temporal not reachable on %s: %s", request.url.path, exc)
        return temporal_unavailable(request)


def is_path_error(exc: RequestValidationError) -> bool:
    return any(tuple(err.get("loc", ()))[:1] == ("path",) for err in exc.errors())


def is_temporal_connect_failure(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and str(exc).startswith("Failed client connect")


def temporal_unavailable(request: Request) -> Response:
    if request.headers.get("content-type", "").startswith("application/json"):  # the study player
        message = MESSAGES["TemporalUnavailable"]
        return JSONResponse({"code": "TemporalUnavailable", "message": message}, 503, {"Retry-After": "5"})
    response = error_response(request, MESSAGES["TemporalUnavailable"], 503)
    response.headers["Retry-After"] = "5"
    if is_htmx(request):
        # htmx swaps no 5xx answer: the toast event shows the message (headers are ASCII-only)
        response.headers["HX-Trigger"] = json.dumps({"showToast": MESSAGES["TemporalUnavailable"]})
    return response
