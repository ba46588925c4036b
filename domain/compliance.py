"""单位管理员: a unit's compliance with the yearly requirement (达标 / 未达标) and the reminder rounds.

The requirement is the hours registry's (platform-pushed plus approved self-declared hours of a
year, against settings.yearly_required_hours). Rounds run before the yearly deadline: one per
configured number of days before it (default 30 and 7 days before 30 November).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from domain.catalog import format_hours
from domain.errors import DomainError
from domain.hours import progress

ROSTER_PAGE_SIZE = 20


def parse_month_day(value: str) -> tuple[int, int]:
    """``"11-30"`` -> (11, 30); a date that no year has (``"02-30"``) is ``ComplianceDeadlineInvalid``."""
    try:
        month, day = (int(part) for part in value.strip().split("-"))
        date(2024, month, day)  # a leap year: 02-29 is allowed, the round moves to the 28th elsewhere
    except ValueError:
        raise DomainError("ComplianceDeadlineInvalid") from None
    return month, day


def deadline_for(year: int, month_day: str) -> date:
    month, day = parse_month_day(month_day)
    if month == 2 and day == 29 and not _leap(year):
        day = 28
    return date(year, month, day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def round_dates(year: int, month_day: str, days_before: list[int]) -> list[date]:
    """The year's round dates, earliest first; a negative number of days is ignored."""
    deadline = deadline_for(year, month_day)
    return sorted({deadline - timedelta(days=d) for d in days_before if d >= 0})


def round_for(today: date, month_day: str, days_before: list[int]) -> date:
    """The round a run on ``today`` belongs to: the latest round date not after today, or the year's
    first round for a run started earlier by hand. A rerun days later is still the same round."""
    dates = round_dates(today.year, month_day, days_before)
    if not dates:
        raise DomainError("ComplianceRoundsMissing")
    passed = [d for d in dates if d <= today]
    return passed[-1] if passed else dates[0]


def format_deadline(deadline: date) -> str:
    return f"{deadline.year}年{deadline.month}月{deadline.day}日"


@dataclass(frozen=True)
class Standing:
    """One person's year: counted hours split 公共科目 / 专业科目 and by source, against the requirement."""

    public: Decimal
    professional: Decimal
    platform: Decimal
    declared: Decimal
    required: Decimal

    @property
    def total(self) -> Decimal:
        return self.public + self.professional

    @property
    def percent(self) -> int:
        return progress(self.total, self.required)[0]

    @property
    def missing(self) -> Decimal:
        return progress(self.total, self.required)[1]

    @property
    def behind(self) -> bool:
        """未达标: short of the requirement (达标 once the total reaches it)."""
        return self.total < self.required

    @property
    def label(self) -> str:
        return "未达标" if self.behind else "达标"


def standing(sums: dict[tuple[str, str], Decimal], required: Decimal) -> Standing:
    """A Standing from counted hours keyed (subject category, source): ``("public", "platform")``."""

    def total(pred: object) -> Decimal:
        return sum((h for k, h in sums.items() if pred(k)), Decimal(0))  # type: ignore[operator]

    return Standing(
        public=total(lambda k: k[0] == "public"),
        professional=total(lambda k: k[0] == "professional"),
        platform=total(lambda k: k[1] == "platform"),
        declared=total(lambda k: k[1] == "self"),
        required=Decimal(required),
    )


def summary_text(unit_name: str, year: int, behind: list[tuple[str, Decimal]], people: int, deadline: str) -> str:
    """The unit administrator's mail: who is behind and by how much."""
    lines = [
        f"{unit_name}{year}年度学时达标情况：共 {people} 人，未达标 {len(behind)} 人。",
        f"学时要求须在{deadline}前完成。未达标人员：",
        "",
    ]
    lines += [f"  {name}：还差 {format_hours(missing)} 学时" for name, missing in behind]
    return "\n".join(lines)


# ---- the compliance round's payloads ---------------------------------------------------------------


@dataclass
class ComplianceRoundInput:
    """Blank for a scheduled run: the round comes from the (scheduled) start time. The rest carries
    a run's progress across continue-as-new."""

    round_key: str = ""  # e.g. "2026-11-23": the round date
    year: int = 0
    deadline: str = ""  # 2026年11月30日
    after_credit_code: str = ""
    # an operator's rerun for some units only (credit codes); empty: every unit with trainees
    only_credit_codes: list[str] = field(default_factory=list)
    units: int = 0
    reminded: int = 0
    already_reminded: int = 0


@dataclass
class RoundPlan:
    round_key: str
    year: int
    deadline: str


@dataclass
class UnitsPageRequest:
    after_credit_code: str
    limit: int
    only_credit_codes: list[str] = field(default_factory=list)


@dataclass
class UnitsPage:
    credit_codes: list[str] = field(default_factory=list)


@dataclass
class RemindUnit:
    round_key: str
    year: int
    deadline: str
    credit_code: str


@dataclass
class UnitReminded:
    credit_code: str
    people: int = 0
    behind: int = 0
    reminded: int = 0  # reminded in this run
    already_reminded: int = 0  # reminded by an earlier run of the same round
    summary_sent: bool = False


@dataclass
class ComplianceRoundResult:
    round_key: str
    year: int
    units: int
    reminded: int
    already_reminded: int


def compliance_round_id(round_key: str) -> str:
    """A round started by hand: `compliance-round-2026-11-23` (the schedule names its own runs)."""
    return f"compliance-round-{round_key}"
