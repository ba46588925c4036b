"""单位管理员 through HTTP: the roster for a year (达标 / 未达标, 公共 / 专业, progress), the filter as
htmx sends it, one person's detail, the Excel export, and every refusal (another unit, a person of
another unit, a bad year, a trainee)."""

from __future__ import annotations

import io
from datetime import date

import httpx
import pytest
from openpyxl import load_workbook

from tests.support import csrf, htmx, login_trainee, make_trainee, staff_client
from tests.support.units import PASSWORD, make_unit

YEAR = date.today().year


@pytest.fixture
async def unit(sessionmaker):
    # 达标 has 30 + 62 = 92; 落后 20 + 10 = 30; 未学 nothing; 去年 reached 90 only last year
    return await make_unit(sessionmaker, {"达标": (30, 62), "落后": (20, 10), "未学": (0, 0)})


async def test_the_administrator_lands_on_the_units_roster(app, unit) -> None:
    code, people, admin = unit
    async with staff_client(app, admin, PASSWORD) as c:
        landing = await c.get("/")
        assert landing.headers["location"] == "/unit/roster"
        own = await c.get("/unit/roster")
        assert own.headers["location"] == f"/units/{code}/roster"
        page = await c.get(own.headers["location"])
    assert page.status_code == 200
    text = page.text
    assert "单位学时管理" in text and code in text
    assert f'{YEAR} 年度共 <b id="roster-people">3</b> 人' in text
    assert 'id="roster-behind-count" class="text-red">2</b>' in text
    ahead, behind = people["达标"], people["落后"]
    row = text.split(f'data-trainee-id="{behind.id}"')[1].split("</tr>")[0]
    assert "未达标" in row and "<b>30</b> / 90" in row and "33%，还差 60 学时" in row
    assert ">20<" in row and ">10<" in row  # 公共科目 20 (platform), 专业科目 10 (declared)
    row = text.split(f'data-trainee-id="{ahead.id}"')[1].split("</tr>")[0]
    assert "达标" in row and "未达标" not in row and "100%" in row


async def test_the_behind_filter_swaps_the_roster_as_htmx_asks(app, unit) -> None:
    code, people, admin = unit
    async with staff_client(app, admin, PASSWORD) as c:
        resp = await c.get(f"/units/{code}/roster", params={"year": YEAR, "behind": "1"}, headers=htmx(c))
    assert resp.status_code == 200
    assert resp.text.lstrip().startswith('<div id="roster">') and "<html" not in resp.text
    assert people["落后"].name in resp.text and people["未学"].name in resp.text
    assert people["达标"].name not in resp.text
    assert f"roster.xlsx?year={YEAR}&amp;behind=1" in resp.text  # the export follows the filter


async def test_an_earlier_year_and_everyone_compliant(app, sessionmaker) -> None:
    code, people, admin = await make_unit(sessionmaker, {"老员工": (50, 40)}, year=YEAR - 1)
    async with staff_client(app, admin, PASSWORD) as c:
        this_year = await c.get(f"/units/{code}/roster", params={"behind": "1"})
        last_year = await c.get(f"/units/{code}/roster", params={"year": YEAR - 1, "behind": "1"})
    assert people["老员工"].name in this_year.text  # nothing counted this year
    assert f"{YEAR - 1} 年度本单位人员均已达标" in last_year.text


async def test_person_detail_lists_the_counted_records(app, unit) -> None:
    code, people, admin = unit
    behind = people["落后"]
    async with staff_client(app, admin, PASSWORD) as c:
        page = await c.get(f"/units/{code}/people/{behind.id}", params={"year": YEAR})
    assert page.status_code == 200
    assert f"{behind.name} · {YEAR} 年度学时明细" in page.text
    assert "公共科目 20 学时 · 专业科目 10 学时" in page.text and "还差 60 学时" in page.text
    assert "培训public" in page.text and "平台推送" in page.text and "自主申报" in page.text
    assert "430102********1234" in page.text  # the id card is masked


async def test_the_export_is_an_excel_roster(app, unit) -> None:
    code, people, admin = unit
    async with staff_client(app, admin, PASSWORD) as c:
        resp = await c.get(f"/units/{code}/roster.xlsx", params={"year": YEAR})
        behind_only = await c.get(f"/units/{code}/roster.xlsx", params={"year": YEAR, "behind": "1"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in resp.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(resp.content)).active
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    by_name = {r[0]: r for r in rows}
    assert set(by_name) == {p.name for p in people.values()}
    assert by_name[people["落后"].name][3:] == (20, 10, 20, 10, 30, 90, "33%", 60, "未达标")
    assert by_name[people["达标"].name][-1] == "达标"
    ws = load_workbook(io.BytesIO(behind_only.content)).active
    assert {r[0] for r in ws.iter_rows(min_row=3, values_only=True)} == {people["落后"].name, people["未学"].name}


async def test_another_units_roster_is_refused(app, sessionmaker, unit) -> None:
    code, people, admin = unit
    other_code, other_people, _ = await make_unit(sessionmaker, {"外单位": (0, 0)})
    async with staff_client(app, admin, PASSWORD) as c:
        for url in (f"/units/{other_code}/roster", f"/units/{other_code}/roster.xlsx",
                    f"/units/{other_code}/people/{other_people['外单位'].id}"):
            resp = await c.get(url)
            assert resp.status_code == 403, url
            assert "只能查看本单位人员的学时情况" in resp.text
            assert other_people["外单位"].name not in resp.text
        # a person of another unit under the administrator's own unit
        resp = await c.get(f"/units/{code}/people/{other_people['外单位'].id}")
        assert resp.status_code == 403 and "该人员不是本单位人员" in resp.text


async def test_bad_years_and_filters_get_a_clear_message(app, unit) -> None:
    code, _, admin = unit
    async with staff_client(app, admin, PASSWORD) as c:
        for year in ("2000", "abc", str(YEAR + 1)):
            resp = await c.get(f"/units/{code}/roster", params={"year": year})
            assert resp.status_code == 422 and "请选择正确的年份" in resp.text, year
        long_year = await c.get(f"/units/{code}/roster", params={"year": "9" * 50})
        assert long_year.status_code == 422 and "年份不能超过4个字符" in long_year.text
        long_flag = await c.get(f"/units/{code}/roster", params={"behind": "yes"})
        assert long_flag.status_code == 422 and "只看未达标不能超过1个字符" in long_flag.text
        huge_page = await c.get(f"/units/{code}/roster", params={"page": "99999999999"})
        assert huge_page.status_code == 422 and "页码超出允许范围" in huge_page.text


async def test_trainees_cannot_open_a_roster(client: httpx.AsyncClient, sessionmaker, unit) -> None:
    code, people, _ = unit
    trainee = await make_trainee(sessionmaker)
    await login_trainee(client, trainee)
    resp = await client.get(f"/units/{code}/roster", headers=csrf(client))
    assert resp.status_code in (303, 401, 403)
    assert people["落后"].name not in resp.text
