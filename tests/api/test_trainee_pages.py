"""Trainee-page defects of issue 10 §2 that a person notices on the page: not-found answers for
path ids, the site icon, the certificate preview's font, the portal's dead ends, one term for
公共科目."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from db.models.catalog import Category, Course
from tests.support import enter_school, htmx, login_trainee, make_trainee
from tests.support.certificates import issue_certificate, make_completed_enrollment


@pytest.fixture
async def trainee(client: httpx.AsyncClient, sessionmaker):
    user = await make_trainee(sessionmaker, "页面")
    await login_trainee(client, user)
    await enter_school(client)
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/courses/999999",  # no such course
        "/courses/abc",  # not a number at all: was 422 提交的内容不完整
        "/courses/-1",
        "/my/courses/abc/swap",
        "/my/certificates/xyz/preview",
        "/my/hours/records/abc/edit",
        "/study/abc",
    ],
)
async def test_a_path_that_names_nothing_is_the_sites_not_found_page(trainee, url: str) -> None:
    resp = await trainee.get(url)
    assert resp.status_code == 404, (url, resp.status_code, resp.text[:300])
    assert "<html" in resp.text and 'id="error-title"' in resp.text and "页面不存在" in resp.text
    assert "提交的内容不完整" not in resp.text


async def test_unknown_course_page_says_so_in_the_not_found_page(trainee) -> None:
    resp = await trainee.get("/courses/999999")
    assert resp.status_code == 404
    assert 'id="error-title"' in resp.text and "页面不存在" in resp.text and "课程不存在或已下架" in resp.text


async def test_a_path_id_error_of_an_htmx_request_is_a_404_message(trainee) -> None:
    resp = await trainee.post("/my/courses/abc/withdraw", headers=htmx(trainee))
    assert resp.status_code == 404 and resp.headers.get("HX-Retarget") == "#flash"


async def test_favicon_is_served_and_linked(client: httpx.AsyncClient) -> None:
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    login = await client.get("/login")
    assert '<link rel="icon" href="/favicon.ico"' in login.text


async def test_certificate_preview_loads_its_font_over_http(trainee, sessionmaker, settings) -> None:
    enrollment = await make_completed_enrollment(sessionmaker, trainee.user, "PUB-04")
    cert = await issue_certificate(sessionmaker, settings, enrollment.id)
    preview = await trainee.get(f"/my/certificates/{cert.id}/preview")
    assert preview.status_code == 200
    assert "file://" not in preview.text
    font_url = re.search(r"src: url\(&(?:amp;)?#34;([^&]+)&", preview.text) or re.search(
        r"src: url\(&quot;([^&]+)&quot;\)", preview.text
    )
    assert font_url, preview.text[:2000]
    font = await trainee.get(font_url.group(1))
    assert font.status_code == 200 and font.content[:4] == b"\x00\x01\x00\x00"  # a TrueType font


async def test_supervision_tiles_lead_somewhere(trainee) -> None:
    page = await trainee.get("/supervision")
    hours = re.search(r'<a class="tile" href="([^"]+)" id="zone-hours">', page.text)
    policies = re.search(r'<a class="tile" href="([^"]+)" id="zone-policies">', page.text)
    assert hours and policies, page.text
    registry = await trainee.get(hours.group(1))
    assert registry.status_code == 200 and "年度已获得" in registry.text
    rules = await trainee.get(policies.group(1))
    assert rules.status_code == 200
    assert "人社部规〔2019〕4号" in rules.text and "90 学时" in rules.text and "只能填报当前年度及上年度" in rules.text


async def test_portal_menu_items_outside_the_platform_say_so(trainee) -> None:
    page = await trainee.get("/portal")
    for label in ("社保服务", "就业服务", "人才人事", "劳动关系"):
        item = re.search(
            rf'<span class="menu-off" aria-disabled="true" title="([^"]+)">{label}<small>([^<]+)', page.text
        )
        assert item, label
        assert item.group(1) == item.group(2) == "本平台不提供此服务"
    assert 'href="/portal/training"' in page.text  # the one that is this platform still leads in


async def test_one_term_for_public_subjects(trainee, sessionmaker) -> None:
    async with sessionmaker() as s:
        names = set((await s.scalars(select(Category.name))).all())
        public = await s.scalar(select(Course).where(Course.code == "PUB-01", Course.school_id == 1))
    assert "公共科目" in names and "公需科目" not in names
    assert public is not None
    listing = await trainee.get("/courses")
    detail = await trainee.get(f"/courses/{public.id}")
    for page in (listing, detail):
        assert "公共科目" in page.text and "公需科目" not in page.text
