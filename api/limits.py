"""Input limits: the one place that says how long each form or query field may be and which numbers
are in range, checked for every request before any endpoint reads its input.

A text field stored in a column takes its limit from the column's ``String(n)``, so the two cannot
drift; a field stored in ``Text`` or not stored declares its own. Ids (form fields, list fields and
path parameters named ``*_id``) must fit the database's 32-bit INTEGER. ``tests/api/test_limits.py``
checks that every form field of every route is declared here and within its column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.orm import InstrumentedAttribute

from api.security import CSRF_EXEMPT_PREFIXES
from db.models.catalog import Chapter, Course
from db.models.checkout import Checkout
from db.models.hours import HoursRecord
from db.models.invoices import Invoice, PersonalInvoiceApplication
from db.models.orders import Order
from db.models.reconciliation import ReconciliationRun
from db.models.tasks import SavedTaskFilter
from db.models.unit_invoice import UnitInvoiceApplication
from db.models.unit_qualification import UnitQualification
from db.models.users import User
from domain.errors import DomainError

INT_MAX = 2**31 - 1  # INTEGER on PostgreSQL; larger ids can name nothing
PAGE_MAX = 100_000
REASON_MAX = 500  # reasons are Text columns: long enough for a review comment, not a book
DEFAULT_MAX = 200  # any other (query) field: filters, flags, notices


def column_length(column: InstrumentedAttribute[object]) -> int | None:
    length = getattr(column.property.columns[0].type, "length", None)
    return int(length) if length else None


@dataclass(frozen=True)
class TextField:
    label: str
    max_length: int | None = None  # declared; else the shortest of `columns`
    columns: tuple[InstrumentedAttribute[object], ...] = ()
    labels_by_path: tuple[tuple[str, str], ...] = field(default=())  # (path prefix, label) overrides

    @property
    def limit(self) -> int:
        lengths = [n for n in (column_length(c) for c in self.columns) if n is not None]
        if self.max_length is not None:
            lengths.append(self.max_length)
        assert lengths, f"{self.label}: no limit"
        return min(lengths)

    def label_for(self, path: str) -> str:
        for prefix, label in self.labels_by_path:
            if path.startswith(prefix):
                return label
        return self.label


TEXT_FIELDS: dict[str, TextField] = {
    "csrf_token": TextField("页面令牌", 128),
    "checkout_key": TextField("提交标识", columns=(Checkout.checkout_key,)),
    # staff login
    "username": TextField("用户名", columns=(User.username,)),
    "password": TextField("密码", 128),
    # checkout, pay
    "training_type": TextField("培训类型", columns=(Order.training_type, HoursRecord.training_type)),
    "training_year": TextField("培训年份", 4),
    "channel": TextField("支付方式", columns=(Order.channel,)),
    "order_nos": TextField("订单号", columns=(Order.order_no,)),
    # invoices (个人发票, 集体开票)
    "title_type": TextField("抬头类型", columns=(PersonalInvoiceApplication.title_type,)),
    "title": TextField("发票抬头", columns=(PersonalInvoiceApplication.title, Invoice.buyer_title)),
    "tax_id": TextField(
        "纳税人识别号",
        columns=(PersonalInvoiceApplication.tax_id, UnitQualification.credit_code, UnitInvoiceApplication.tax_id),
        labels_by_path=(("/group-invoicing", "单位识别号"),),
    ),
    "email": TextField("电子邮箱", columns=(PersonalInvoiceApplication.email, UnitInvoiceApplication.email)),
    "unit_name": TextField("单位名称", columns=(UnitQualification.unit_name, UnitInvoiceApplication.unit_name)),
    "year": TextField("年份", 4),
    "name": TextField("姓名", columns=(User.name,)),
    "phone": TextField("手机号", columns=(User.phone,)),
    # hours records (学时登记)
    "training_name": TextField("培训名称", columns=(HoursRecord.training_name,)),
    "organiser": TextField("主办单位", columns=(HoursRecord.organiser,)),
    "start_date": TextField("开始日期", 10),
    "end_date": TextField("结束日期", 10),
    "subject_category": TextField("科目类别", columns=(HoursRecord.subject_category,)),
    "hours": TextField("学时数", 6),  # Numeric(5, 1): at most "9999.5"
    "remove_evidence": TextField("删除证明材料", 10),
    # reviews and revocations (Text columns)
    "reason": TextField("原因", REASON_MAX),
    "decision": TextField("审核结果", 10),
    # inbox for volume: 常用筛选, 评论, the list's order (routers/inbox_volume.py)
    "filter_name": TextField("筛选名称", columns=(SavedTaskFilter.name,)),
    "comment": TextField("评论", REASON_MAX),
    "sort": TextField("排序", 12),
    # catalog search
    "q": TextField("关键词", columns=(Course.title,)),
    "category": TextField("课程类目", 10),
    "major": TextField("专业", 10),
    "subject": TextField("科目类别", 20),
    # 课程管理 (/staff/courses)
    "course_title": TextField("课程名称", columns=(Course.title,)),
    "teacher": TextField("主讲教师", columns=(Course.teacher,)),
    "price": TextField("价格", 12),
    "description": TextField("课程简介", 1000),
    "chapter_title": TextField("章节名称", columns=(Chapter.title,)),
    "direction": TextField("移动方向", 10),
    # 单位管理员 roster filter
    "behind": TextField("只看未达标", 1),
    # reconciliation (对账)
    "day": TextField("对账日期", columns=(ReconciliationRun.day,)),
}
# per-item review fields: `item-<id>` (approve/reject) and `reason-<id>`
TEXT_FIELD_PREFIXES: dict[str, TextField] = {
    "item-": TextField("审核结果", 10),
    "reason-": TextField("驳回原因", REASON_MAX),
}

# form fields holding ids (one value or a list), and numeric query parameters: (label, min, max).
# An id of 0 is a select left at its placeholder: the endpoint says what is missing.
NUMBER_FIELDS: dict[str, tuple[str, int, int]] = {
    "course_id": ("课程", 0, INT_MAX),
    "course_ids": ("课程", 0, INT_MAX),
    "user_id": ("账号", 0, INT_MAX),
    "record_ids": ("学时记录", 0, INT_MAX),
    "school_id": ("审核学校", 0, INT_MAX),
    "category_id": ("课程类目", 0, INT_MAX),
    "major_id": ("专业", 0, INT_MAX),
    "page": ("页码", 1, PAGE_MAX),
    "task_ids": ("审核任务", 0, INT_MAX),
    "assignee_id": ("审核员", 0, INT_MAX),
}
PATH_NUMBER_SUFFIX = "_id"  # path parameters: enrollment_id, course_id, task_id, record_id, ...
PATH_TEXT_MAX = 64  # order_no, application_no, declaration_no, trade_no, token


def text_field(name: str) -> TextField | None:
    if name in TEXT_FIELDS:
        return TEXT_FIELDS[name]
    for prefix, spec in TEXT_FIELD_PREFIXES.items():
        if name.startswith(prefix):
            return spec
    return None


def check_text(name: str, value: str, path: str = "") -> None:
    spec = text_field(name)
    limit = spec.limit if spec else DEFAULT_MAX
    if len(value) > limit:
        label = spec.label_for(path) if spec else "输入内容"
        raise DomainError("TextTooLong", f"{label}不能超过{limit}个字符")


def check_number(label: str, raw: str, low: int, high: int) -> None:
    """A value that is not a number at all is left to the endpoint (its own message); a number out
    of range is refused here, before int() of 10,000 digits or a database overflow."""
    text = raw.strip()
    digits = text.removeprefix("-")
    if not digits.isdigit():
        return
    if len(digits) > len(str(high)) or not low <= int(text) <= high:
        raise DomainError("NumberOutOfRange", f"{label}超出允许范围")


def check_field(name: str, value: str, path: str = "") -> None:
    if name in NUMBER_FIELDS:
        label, low, high = NUMBER_FIELDS[name]
        if len(value) > DEFAULT_MAX:
            raise DomainError("NumberOutOfRange", f"{label}超出允许范围")
        check_number(label, value, low, high)
        return
    check_text(name, value, path)


async def check_input_limits(request: Request) -> None:
    """App-wide dependency (beside CSRF): path, query and form values within their limits."""
    path = request.url.path
    if path.startswith(CSRF_EXEMPT_PREFIXES):  # the provider's notifications: signed, answered in its protocol
        return
    for name, value in request.path_params.items():
        raw = str(value)
        if name.endswith(PATH_NUMBER_SUFFIX) and raw.isdigit():
            if len(raw) > len(str(INT_MAX)) or not 1 <= int(raw) <= INT_MAX:
                raise DomainError("NotFound")  # no such thing: the site's not-found answer
        elif len(raw) > PATH_TEXT_MAX:
            raise DomainError("NotFound")
    for name, value in request.query_params.multi_items():
        check_field(name, value, path)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # cached on the request; the endpoint reads it again for free
        for name, item in form.multi_items():
            if isinstance(item, str):
                check_field(name, item, path)
