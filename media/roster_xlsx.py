"""The unit roster as an Excel workbook (openpyxl): bytes out, one row per person."""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from domain.compliance import Standing

HEADERS = [
    "姓名", "身份证号", "手机号", "平台推送学时", "自主申报学时（已通过）",
    "公共科目", "专业科目", "合计", "年度要求", "完成进度", "还差学时", "达标情况",
]
BEHIND_FILL = PatternFill("solid", fgColor="FDECEA")


def roster_workbook(unit_name: str, year: int, rows: Iterable[tuple[str, str, str, Standing]]) -> bytes:
    """``rows``: (name, id card (masked), phone, standing)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"{year}年度学时"
    ws.append([f"{unit_name} {year}年度学时达标情况"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(HEADERS)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for name, id_card, phone, s in rows:
        ws.append([
            name, id_card, phone, _num(s.platform), _num(s.declared), _num(s.public), _num(s.professional),
            _num(s.total), _num(s.required), f"{s.percent}%", _num(s.missing), s.label,
        ])
        if s.behind:
            for cell in ws[ws.max_row]:
                cell.fill = BEHIND_FILL
    for col, width in zip("ABCDEFGHIJKL", [10, 20, 14, 12, 20, 10, 10, 8, 10, 10, 10, 10], strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _num(value: Decimal) -> float:
    return float(value)
