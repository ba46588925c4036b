"""证明档案 / 打印学习证明 / 查验: issuing once, the pages a trainee sees, the public check, revocation."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.certificates import CertificateActivities
from config import Settings
from db.models.certificates import Certificate
from db.models.orders import Enrollment, EnrollmentStatus
from db.models.users import Role
from domain.certificates import CertificateIssued, CertificateRequest
from tests.support import htmx, login_staff, login_trainee, make_staff, make_trainee
from tests.support.certificates import issue_certificate, make_completed_enrollment

CERT_NO = re.compile(r"^HN\d{4}HUNAU\d{6}$")


def pdftotext(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return "".join(out.split())


@asynccontextmanager
async def signed_in(app, user) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        await login_trainee(c, user)
        yield c


@pytest.fixture
async def trainee(sessionmaker):
    return await make_trainee(sessionmaker, "证明学员")


@pytest.fixture
async def cert(sessionmaker, settings, trainee) -> Certificate:
    enrollment = await make_completed_enrollment(sessionmaker, trainee, "PUB-03")
    return await issue_certificate(sessionmaker, settings, enrollment.id)


# ---- the issuing activity ------------------------------------------------------------------------


async def test_issue_twice_gives_one_certificate_one_number_one_pdf(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, trainee
) -> None:
    enrollment = await make_completed_enrollment(sessionmaker, trainee, "PUB-04")
    acts = CertificateActivities(sessionmaker, settings)
    # three at once (a duplicate call racing the first), then a retry after the fact
    racing = await asyncio.gather(*(acts.issue(CertificateRequest(enrollment.id)) for _ in range(3)))
    again = await acts.issue(CertificateRequest(enrollment.id))
    first = racing[0]
    assert all(i == first for i in [*racing, again])
    assert CERT_NO.match(first.cert_no), first.cert_no
    assert len(first.verify_code) >= 20  # random and unguessable, not an id

    async with sessionmaker() as s:
        rows = (await s.scalars(select(Certificate).where(Certificate.enrollment_id == enrollment.id))).all()
    assert len(rows) == 1
    cert = rows[0]
    assert cert.trainee_name == trainee.name and cert.id_card_masked == "4301**********1234"
    assert cert.course_title == "数字政府与公共服务创新" and cert.status == "valid"
    assert cert.pdf_path == f"certificates/{first.cert_no}.pdf"
    stored = list((settings.files_dir / "certificates").glob(f"{first.cert_no}*"))
    assert [p.name for p in stored] == [f"{first.cert_no}.pdf"]  # one file, no leftovers
    assert first.cert_no in pdftotext(stored[0].read_bytes())


async def test_numbers_differ_between_certificates(sessionmaker, settings) -> None:
    trainees = [await make_trainee(sessionmaker) for _ in range(3)]
    enrollments = [await make_completed_enrollment(sessionmaker, t, "PUB-05") for t in trainees]
    acts = CertificateActivities(sessionmaker, settings)
    issued = await asyncio.gather(*(acts.issue(CertificateRequest(e.id)) for e in enrollments))
    assert len({i.cert_no for i in issued}) == 3 and len({i.verify_code for i in issued}) == 3


async def test_issue_refuses_a_course_not_yet_studied_to_the_end(sessionmaker, settings, trainee) -> None:
    enrollment = await make_completed_enrollment(sessionmaker, trainee, "IT-01")
    async with sessionmaker() as s:
        row = await s.get(Enrollment, enrollment.id)
        assert row is not None
        row.status = EnrollmentStatus.STUDYING
        await s.commit()
    with pytest.raises(ApplicationError) as refused:
        await CertificateActivities(sessionmaker, settings).issue(CertificateRequest(enrollment.id))
    assert refused.value.type == "EnrollmentNotCompleted" and refused.value.non_retryable
    async with sessionmaker() as s:
        count = await s.scalar(
            select(func.count()).select_from(Certificate).where(Certificate.enrollment_id == enrollment.id)
        )
    assert count == 0


@workflow.defn(sandboxed=False)
class IssueByName:
    """Stands in for the study workflow: calls the activity by its registered name."""

    @workflow.run
    async def run(self, req: CertificateRequest, activity_queue: str) -> CertificateIssued:
        return await workflow.execute_activity(
            "certificates.issue",
            req,
            task_queue=activity_queue,  # the platform's worker, as for the study workflow
            start_to_close_timeout=timedelta(seconds=30),
            result_type=CertificateIssued,
        )


async def test_the_worker_serves_certificates_issue(
    temporal_client: Client, worker: None, sessionmaker, settings, trainee
) -> None:
    enrollment = await make_completed_enrollment(sessionmaker, trainee, "IT-02")
    queue = f"{settings.task_queue}-cert-caller"
    async with Worker(temporal_client, task_queue=queue, workflows=[IssueByName]):
        issued = await temporal_client.execute_workflow(
            IssueByName.run,
            args=[CertificateRequest(enrollment.id), settings.task_queue],
            id=f"cert-caller-{enrollment.id}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=60),
        )
    assert CERT_NO.match(issued.cert_no)


# ---- 证明档案, 预览, 打印 --------------------------------------------------------------------------


async def test_archive_lists_the_certificate_with_its_facts(app, trainee, cert: Certificate) -> None:
    async with signed_in(app, trainee) as c:
        page = await c.get("/my/certificates")
    assert page.status_code == 200
    text = page.text
    facts = (cert.cert_no, "法治政府建设与依法行政", "公共科目", "在岗培训", "湖南农业大学", "有效", "打印学习证明")
    for expected in facts:
        assert expected in text, expected
    assert f"/my/certificates/{cert.id}/preview" in text


async def test_archive_is_empty_for_a_trainee_without_completed_courses(app, sessionmaker) -> None:
    async with signed_in(app, await make_trainee(sessionmaker)) as c:
        page = await c.get("/my/certificates")
    assert "暂无已完成课程的学习证明" in page.text


async def test_a_course_just_finished_shows_its_certificate_in_the_making(app, sessionmaker, trainee) -> None:
    await make_completed_enrollment(sessionmaker, trainee, "ECO-03")
    async with signed_in(app, trainee) as c:
        page = await c.get("/my/certificates")
    assert "预算绩效管理" in page.text and "证明生成中" in page.text
    assert "暂无已完成课程的学习证明" not in page.text


async def test_preview_shows_the_certificate_and_the_print_button(app, trainee, cert: Certificate) -> None:
    async with signed_in(app, trainee) as c:
        full = await c.get(f"/my/certificates/{cert.id}/preview")
        popup = await c.get(f"/my/certificates/{cert.id}/preview", headers=htmx(c))
    assert full.status_code == 200 and "学习证明预览" in full.text and "证明档案" in full.text
    assert "<html" not in popup.text[:50] and "sidemenu" not in popup.text  # just the preview, for the dialog
    for page in (full, popup):
        assert "兹证明" in page.text and "法治政府建设与依法行政" in page.text and cert.cert_no in page.text
        assert f'href="/my/certificates/{cert.id}.pdf"' in page.text and ">打印</a>" in page.text


async def test_print_serves_the_stored_pdf_inline(app, trainee, cert: Certificate) -> None:
    async with signed_in(app, trainee) as c:
        resp = await c.get(f"/my/certificates/{cert.id}.pdf")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/pdf"
    assert resp.headers["content-disposition"].startswith("inline;")
    text = pdftotext(resp.content)
    assert "法治政府建设与依法行政" in text and trainee.name in text and cert.cert_no in text
    assert f"/verify/{cert.verify_code}" in text


async def test_another_trainee_gets_not_found(app, sessionmaker, cert: Certificate) -> None:
    async with signed_in(app, await make_trainee(sessionmaker)) as other:
        for url in (f"/my/certificates/{cert.id}.pdf", f"/my/certificates/{cert.id}/preview"):
            resp = await other.get(url)
            assert resp.status_code == 404 and "未找到该学习证明" in resp.text, url
        assert cert.cert_no not in (await other.get("/my/certificates")).text


async def test_pages_need_a_login(client: httpx.AsyncClient, cert: Certificate) -> None:
    for url in ("/my/certificates", f"/my/certificates/{cert.id}.pdf"):
        resp = await client.get(url)
        assert resp.status_code == 303 and resp.headers["location"] == "/login"


# ---- 查验 ----------------------------------------------------------------------------------------


async def test_verify_page_is_public_and_shows_what_a_verifier_needs(
    client: httpx.AsyncClient, trainee, cert: Certificate
) -> None:
    page = await client.get(f"/verify/{cert.verify_code}")
    assert page.status_code == 200
    text = page.text
    masked = trainee.name[0] + "*" * (len(trainee.name) - 2) + trainee.name[-1]
    for expected in ("有效", masked, "法治政府建设与依法行政", "4 学时", "湖南农业大学", cert.cert_no):
        assert expected in text, expected
    assert trainee.name not in text and "4301" not in text  # no full name, no id card


async def test_unknown_code_is_not_found_in_chinese(client: httpx.AsyncClient) -> None:
    resp = await client.get("/verify/no-such-code-at-all")
    assert resp.status_code == 404 and "未找到该学习证明" in resp.text


# ---- 撤销 ----------------------------------------------------------------------------------------


async def test_admin_revokes_and_everyone_sees_it(app, sessionmaker, trainee, cert: Certificate) -> None:
    admin = await make_staff(sessionmaker, Role.ADMIN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as staff:
        await login_staff(staff, admin)
        found = await staff.get("/staff/certificates", params={"q": cert.cert_no})
        assert cert.cert_no in found.text and "撤销" in found.text
        no_reason = await staff.post(f"/staff/certificates/{cert.id}/revoke", data={"reason": " "}, headers=htmx(staff))
        assert no_reason.status_code == 422 and "必须填写原因" in no_reason.text
        done = await staff.post(
            f"/staff/certificates/{cert.id}/revoke", data={"reason": "学时记录有误"}, headers=htmx(staff)
        )
        assert done.headers.get("HX-Redirect", "").startswith("/staff/certificates?q=")
        history = await staff.get("/staff/certificates", params={"q": cert.cert_no})
        assert "已撤销" in history.text and "撤销：学时记录有误" in history.text and "出具" in history.text
        twice = await staff.post(f"/staff/certificates/{cert.id}/revoke", data={"reason": "再次"}, headers=htmx(staff))
        assert twice.status_code == 422 and "已撤销" in twice.text

    async with signed_in(app, trainee) as c:
        public = await c.get(f"/verify/{cert.verify_code}")
        assert "已撤销" in public.text and "不再有效" in public.text and "学时记录有误" in public.text
        assert "真实有效" not in public.text
        archive = await c.get("/my/certificates")
        assert "已撤销" in archive.text and f"/my/certificates/{cert.id}/preview" not in archive.text
        pdf = await c.get(f"/my/certificates/{cert.id}.pdf")
        assert pdf.status_code == 410 and "已撤销" in pdf.text


async def test_only_admins_may_revoke(app, sessionmaker, cert: Certificate) -> None:
    finance = await make_staff(sessionmaker, Role.FINANCE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as staff:
        await login_staff(staff, finance)
        resp = await staff.post(f"/staff/certificates/{cert.id}/revoke", data={"reason": "x"}, headers=htmx(staff))
        assert resp.status_code == 403
    async with sessionmaker() as s:
        row = await s.get(Certificate, cert.id)
        assert row is not None and row.status == "valid"
