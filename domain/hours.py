"""Hours registry (学时登记) rules: declaration years, offline records, yearly progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from domain.beijing_time import beijing_time
from domain.catalog import SubjectCategory, parse_training_type
from domain.errors import DomainError
from domain.review import Decision, ItemDecision

HOURS_STEP = Decimal("0.5")


def allowed_declaration_years(today: date) -> tuple[int, int]:
    """(current year, previous year): the only years hours may be declared for."""
    return today.year, today.year - 1


def validate_declaration_year(year: int, today: date) -> int:
    """``year`` if it is the current or previous year, else ``HoursYearOutOfRange``."""
    if year not in allowed_declaration_years(today):
        raise DomainError("HoursYearOutOfRange")
    return year


def validate_declarable_dates(start: date, end: date, today: date) -> None:
    """A record must take place (at least partly) in a year that can still be declared, or it could
    never be submitted: refused when saved, ``HoursYearNeverDeclarable`` (1900, two years back)."""
    current, previous = allowed_declaration_years(today)
    if end.year < previous or start.year > current:
        raise DomainError("HoursYearNeverDeclarable")


def max_hours(start: date, end: date, max_hours_per_day: Decimal) -> Decimal:
    """The most hours a record from ``start`` to ``end`` (inclusive) may claim."""
    return Decimal((end - start).days + 1) * max_hours_per_day


def validate_offline_record(start: date, end: date, hours: Decimal, max_hours_per_day: Decimal) -> Decimal:
    """Checks one self-declared (offline) record and returns its hours.

    ``HoursDatesInvalid`` if end < start; ``HoursNotPositive`` for hours <= 0; ``HoursStepInvalid``
    unless a multiple of 0.5; ``HoursTooMany`` beyond (days inclusive × max per day).
    """
    if end < start:
        raise DomainError("HoursDatesInvalid")
    hours = Decimal(hours)
    if not hours.is_finite() or hours <= 0:
        raise DomainError("HoursNotPositive")
    if hours % HOURS_STEP != 0:
        raise DomainError("HoursStepInvalid")
    if hours > max_hours(start, end, Decimal(max_hours_per_day)):
        raise DomainError("HoursTooMany")
    return hours


def progress(total: Decimal, required: Decimal) -> tuple[int, Decimal]:
    """(percent of ``required`` reached, floored and capped at 100; hours still missing, >= 0)."""
    total = Decimal(total)
    required = Decimal(required)
    if required <= 0:
        return 100, Decimal(0)
    percent = int((total * 100 / required).to_integral_value(rounding=ROUND_FLOOR))
    return max(0, min(percent, 100)), max(required - total, Decimal(0))


# ---- records and declarations --------------------------------------------------------------------


class HoursSource:
    PLATFORM = "platform"  # 平台推送学时: a completed course
    SELF = "self"  # 自主申报学时: an offline record the trainee entered

    LABELS = {PLATFORM: "平台推送", SELF: "自主申报"}


class RecordState:
    """One record's state. A rejected record is a DRAFT again, with its reject reason kept."""

    DRAFT = "draft"  # 草稿: the trainee may edit, delete or submit it
    PENDING = "pending"  # 待提交申报: in the trainee's pending declaration for a year
    REVIEWING = "reviewing"  # 审核中: locked until the school decides
    APPROVED = "approved"  # 已通过: counts in the registry
    RECORDED = "recorded"  # 已记录: platform-pushed, counts in the registry

    LABELS = {
        DRAFT: "草稿",
        PENDING: "待提交申报",
        REVIEWING: "审核中",
        APPROVED: "已通过",
        RECORDED: "已记录",
    }
    COUNTED = (APPROVED, RECORDED)


class DeclarationState:
    PENDING = "pending"  # 待提交申报: drafts gathered by 提交学时, not yet sent
    REVIEWING = "reviewing"  # 审核中
    APPROVED = "approved"  # 已通过 (every record)
    REJECTED = "rejected"  # 已驳回 (every record)
    PARTIAL = "partial"  # 部分通过

    LABELS = {
        PENDING: "待提交申报",
        REVIEWING: "审核中",
        APPROVED: "已通过",
        REJECTED: "已驳回",
        PARTIAL: "部分通过",
    }


def parse_subject_category(value: str | None) -> SubjectCategory:
    try:
        return SubjectCategory(value or "")
    except ValueError:
        raise DomainError("SubjectCategoryInvalid") from None


def parse_date(value: str | None) -> date:
    """An ISO date from a form field, or ``HoursDateRequired``."""
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise DomainError("HoursDateRequired") from None


def parse_hours(value: str | None) -> Decimal:
    """Hours from a form field; blank or garbage is ``HoursNotPositive``."""
    try:
        return Decimal((value or "").strip())
    except (InvalidOperation, ValueError):
        raise DomainError("HoursNotPositive") from None


@dataclass(frozen=True)
class OfflineEntry:
    """A validated 学时填报 form: what a self-declared record holds."""

    training_name: str
    organiser: str
    start: date
    end: date
    subject_category: str
    training_type: str
    hours: Decimal


def validate_entry(
    *,
    training_name: str,
    organiser: str,
    start: str,
    end: str,
    subject_category: str,
    training_type: str,
    hours: str,
    today: date,
    max_hours_per_day: Decimal,
) -> OfflineEntry:
    """Every check of the 学时填报 form, before anything is written."""
    name = " ".join(training_name.split())
    if not name:
        raise DomainError("HoursNameRequired")
    org = " ".join(organiser.split())
    if not org:
        raise DomainError("HoursOrganiserRequired")
    start_d, end_d = parse_date(start), parse_date(end)
    category = parse_subject_category(subject_category)
    ttype = parse_training_type(training_type)
    amount = validate_offline_record(start_d, end_d, parse_hours(hours), Decimal(max_hours_per_day))
    if end_d > today:
        raise DomainError("HoursDateInFuture")
    validate_declarable_dates(start_d, end_d, today)
    return OfflineEntry(name[:200], org[:200], start_d, end_d, category.value, ttype.value, amount)


def validate_record_in_year(start: date, end: date, year: int) -> None:
    """A record declared for ``year`` must have taken place (at least partly) in that year."""
    if not start.year <= year <= end.year:
        raise DomainError("HoursOutsideYear")


def same_training(name_a: str, start_a: date, end_a: date, name_b: str, start_b: date, end_b: date) -> bool:
    """Two records describe the same training: the same name (spacing and case aside) and
    overlapping dates. Declaring hours a second time for it is ``HoursDuplicate``."""
    if "".join(name_a.split()).casefold() != "".join(name_b.split()).casefold():
        return False
    return start_a <= end_b and start_b <= end_a


def make_declaration_no(now: datetime, serial: int) -> str:
    """Readable, sortable and unique per second and serial: SB20261128223015-4821."""
    return f"SB{beijing_time(now):%Y%m%d%H%M%S}-{serial:04d}"


# ---- the declaration workflow's payloads ---------------------------------------------------------


@dataclass
class DeclarationInput:
    declaration_no: str
    trainee_id: int
    trainee_name: str
    school_id: int
    year: int
    record_ids: list[int]
    remind_after_seconds: float
    due_after_seconds: float


@dataclass
class SubmitDeclaration:
    """Activity ``hours.submit_declaration``: lock the records and mark the declaration 审核中."""

    declaration_no: str
    school_id: int
    workflow_id: str
    record_ids: list[int]
    submitted_at: str  # ISO 8601


@dataclass
class DeclarationSubmitted:
    """The records actually locked (one removed from the declaration in the meantime is not)."""

    record_ids: list[int]
    total_hours: str
    titles: dict[str, str] = field(default_factory=dict)  # str(record id) -> training name


@dataclass
class DeclarationView:
    declaration_no: str
    state: str
    record_ids: list[int] = field(default_factory=list)


@dataclass
class ApplyReview:
    """Activity ``hours.apply_review``: approved records count, rejected ones go back to draft."""

    declaration_no: str
    reviewer_id: int
    decided_at: str  # ISO 8601
    items: dict[str, ItemDecision]


def resolve_item_decisions(decision: Decision, record_ids: list[int]) -> dict[str, ItemDecision]:
    """The per-record decisions for a declaration (keys: str(record id)).

    Without per-item decisions the overall one applies to every record; with them every record
    needs one (``ItemDecisionRequired``); a rejection needs a reason (``RejectReasonRequired``); an
    overall rejection with every record approved is ``ItemDecisionConflict``.
    Keys of records outside the declaration are ignored."""
    keys = [str(r) for r in record_ids]
    if decision.items:
        missing = [k for k in keys if k not in decision.items]
        if missing:
            raise DomainError("ItemDecisionRequired")
        items = {k: decision.items[k] for k in keys}
        if not decision.approve and all(i.approve for i in items.values()):
            # 驳回 clicked while every record is marked 通过: ask, rather than guess which one wins
            raise DomainError("ItemDecisionConflict")
    else:
        items = {k: ItemDecision(approve=decision.approve, reason=decision.reason) for k in keys}
    cleaned = {k: ItemDecision(approve=i.approve, reason=i.reason.strip()) for k, i in items.items()}
    if any(not i.approve and not i.reason for i in cleaned.values()):
        raise DomainError("RejectReasonRequired")
    return cleaned


def declaration_outcome(items: dict[str, ItemDecision]) -> str:
    """approved / rejected / partial (a DeclarationState)."""
    approved = sum(1 for i in items.values() if i.approve)
    if approved == len(items):
        return DeclarationState.APPROVED
    if approved == 0:
        return DeclarationState.REJECTED
    return DeclarationState.PARTIAL


def review_summary(items: dict[str, ItemDecision], titles: dict[str, str]) -> str:
    """One line for the task's audit trail: what was approved, what rejected and why."""
    approved = [k for k, i in items.items() if i.approve]
    rejected = [k for k, i in items.items() if not i.approve]
    parts = [f"通过{len(approved)}条，驳回{len(rejected)}条"]
    parts += [f"「{titles.get(k, k)}」驳回：{items[k].reason}" for k in rejected]
    return "；".join(parts)
