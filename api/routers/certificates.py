"""证明档案 / 打印学习证明 / the public verification page / staff revocation.

The certificate and its PDF are made once by the issuing activity (`activities/certificates.py`);
these pages only read them. Printing serves the stored file, so it is instant.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from api.deps import CurrentTrainee, SessionDep, SettingsDep, require_role
from api.pages import paginate, trainee_context
from api.templating import redirect, render
from db.base import utcnow
from db.models.catalog import Course
from db.models.certificates import Certificate, CertificateEvent
from db.models.orders import Enrollment, EnrollmentStatus
from db.models.users import Role, User
from domain.certificates import CertificateStatus, mask_name
from domain.errors import DomainError, message_for
from media.certificates import certificate_view, issued_on
from media.pdf import FONT_WEB_PATH, certificate_html, web_font

router = APIRouter(tags=["certificates"])

AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]


def _not_found() -> HTTPException:
    return HTTPException(status_code=404, detail=message_for("CertificateNotFound"))


async def own_certificate(session: SessionDep, user: User, cert_id: int) -> Certificate:
    """Another trainee's certificate is indistinguishable from a missing one."""
    cert = await session.scalar(
        select(Certificate).where(Certificate.id == cert_id, Certificate.trainee_id == user.id)
    )
    if cert is None:
        raise _not_found()
    return cert


@router.get("/my/certificates", response_class=HTMLResponse)
async def my_certificates(
    request: Request, user: CurrentTrainee, session: SessionDep, page: int = 1
) -> Response:
    mine = select(Certificate).where(Certificate.trainee_id == user.id)
    certificates, paging = await paginate(
        session, mine, page, order_by=[Certificate.issued_at.desc(), Certificate.id.desc()]
    )
    ctx = await trainee_context(request, session, user)
    return render(
        request,
        "certificates/list.html",
        {
            **ctx,
            "certificates": certificates,
            "pending": await _completed_without_certificate(session, user.id),
            "paging": paging,
            "active": "certificates",
        },
    )


async def _completed_without_certificate(session: SessionDep, trainee_id: int) -> list[Enrollment]:
    """Courses just finished whose certificate the worker is still making (a second or so)."""
    return list(
        (
            await session.scalars(
                select(Enrollment)
                .where(
                    Enrollment.trainee_id == trainee_id,
                    Enrollment.status == EnrollmentStatus.COMPLETED,
                    ~select(Certificate.id).where(Certificate.enrollment_id == Enrollment.id).exists(),
                )
                .options(selectinload(Enrollment.course).selectinload(Course.school))
                .order_by(Enrollment.id.desc())
            )
        ).all()
    )


@router.get("/my/certificates/{cert_id}/preview", response_class=HTMLResponse)
async def preview(
    cert_id: int, request: Request, user: CurrentTrainee, session: SessionDep, settings: SettingsDep
) -> Response:
    """学习证明预览: the very markup the PDF was made from, with the 打印 button below it."""
    cert = await own_certificate(session, user, cert_id)
    ctx = await trainee_context(request, session, user)
    html = certificate_html(certificate_view(cert, settings.base_url), font_url=FONT_WEB_PATH)
    return render(
        request,
        "certificates/preview.html",
        {**ctx, "cert": cert, "certificate_html": html, "active": "certificates"},
        block="preview",
    )


@router.get(FONT_WEB_PATH)
async def certificate_font() -> Response:
    """The certificate's font for the preview in the browser (a page may not load file:// URLs)."""
    return Response(web_font(), media_type="font/ttf", headers={"Cache-Control": "public, max-age=604800"})


@router.get("/my/certificates/{cert_id}.pdf")
async def certificate_file(
    cert_id: int, user: CurrentTrainee, session: SessionDep, settings: SettingsDep
) -> Response:
    cert = await own_certificate(session, user, cert_id)
    if not cert.is_valid:
        raise HTTPException(status_code=410, detail=message_for("CertificateRevoked"))
    files = settings.files_dir.resolve()
    path = (files / cert.pdf_path).resolve() if cert.pdf_path else None
    if path is None or not path.is_relative_to(files) or not path.is_file():
        # the issuing activity renders it right after the row is written; Temporal retries it
        raise HTTPException(status_code=409, detail=message_for("CertificatePdfPending"))
    # ASCII name for old clients, the Chinese one (RFC 5987) for the rest
    chinese = quote(f"学习证明-{cert.cert_no}.pdf")
    disposition = f"inline; filename=\"{cert.cert_no}.pdf\"; filename*=UTF-8''{chinese}"
    return FileResponse(
        path,
        media_type="application/pdf",
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "private, max-age=300",
        },
    )


@router.get("/verify/{code}", response_class=HTMLResponse)
async def verify(code: str, request: Request, session: SessionDep) -> Response:
    """Public (no login): what a verifier needs, and whether the certificate still holds."""
    cert = await session.scalar(select(Certificate).where(Certificate.verify_code == code)) if code else None
    if cert is None:
        raise _not_found()
    return render(
        request,
        "certificates/verify.html",
        {"cert": cert, "masked_name": mask_name(cert.trainee_name), "issued_on": issued_on(cert.issued_at)},
        headers={"X-Robots-Tag": "noindex", "Cache-Control": "no-store"},
    )


# ---- staff: find and revoke --------------------------------------------------------------------


@router.get("/staff/certificates", response_class=HTMLResponse)
async def staff_certificates(request: Request, user: AdminUser, session: SessionDep, q: str = "") -> Response:
    q = q.strip()
    found: list[Certificate] = []
    if q:
        found = list(
            (
                await session.scalars(
                    select(Certificate)
                    .where(or_(Certificate.cert_no == q.upper(), Certificate.trainee_name.contains(q)))
                    .options(selectinload(Certificate.events))
                    .order_by(Certificate.id.desc())
                    .limit(50)
                )
            ).all()
        )
    return render(request, "certificates/staff.html", {"q": q, "certificates": found})


@router.post("/staff/certificates/{cert_id}/revoke")
async def revoke(
    cert_id: int,
    request: Request,
    user: AdminUser,
    session: SessionDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    reason = reason.strip()
    if not reason:
        raise DomainError("RevokeReasonRequired")
    cert = await session.get(Certificate, cert_id)
    if cert is None:
        raise _not_found()
    now = utcnow()
    # conditional: of two admins revoking at once, one changes the status, the other is told
    changed = await session.execute(
        update(Certificate)
        .where(Certificate.id == cert_id, Certificate.status == CertificateStatus.VALID)
        .values(status=CertificateStatus.REVOKED, revoked_at=now, revoke_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) != 1:
        raise DomainError("CertificateAlreadyRevoked")
    session.add(
        CertificateEvent(certificate_id=cert_id, action="revoked", actor_id=user.id, reason=reason, at=now)
    )
    await session.commit()
    return redirect(request, f"/staff/certificates?q={quote(cert.cert_no)}")
