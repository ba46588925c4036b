"""课程学习: the study process's data shapes and its accounting rules (no I/O).

The study workflow (`workflows/study.py`) keeps one ``StudyState`` per enrollment and applies the
rules below to every heartbeat of the player. Times are POSIX seconds (floats) so that state stays
JSON-plain across continue-as-new; positions and credit are seconds into a chapter.

Anti-cheat accounting (DOMAIN.md): a heartbeat is credited only with the wall-clock time since the
last accepted heartbeat, plus a small tolerance that is a *budget* per session rather than a gift
per heartbeat (else a client beating every second would gain the tolerance every second), never
more than the chapter has left, never past the next captcha, and nothing while a captcha is pending.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from domain.errors import DomainError

#: Digits and uppercase letters without the look-alikes 0/O, 1/I/L (as media/captcha_image.py).
CAPTCHA_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CAPTCHA_LENGTH = 4
MAX_PLANNED_CAPTCHAS = 200  # a bound on one session's plan, whatever the settings


class StudyStatus:
    NOT_STARTED = "not_started"  # 未学习: may still be swapped or withdrawn
    STUDYING = "studying"  # 学习中: a session was opened; holds the trainee's one-course slot
    COMPLETED = "completed"  # 已学完
    WITHDRAWN = "withdrawn"  # 已退课

    TERMINAL = (COMPLETED, WITHDRAWN)


class EndReason:
    """Why a playing session ended; each maps to the refusal code a late heartbeat receives."""

    IDLE = "idle"
    CAPTCHA_TIMEOUT = "captcha_timeout"
    CAPTCHA_WRONG = "captcha_wrong"
    REPLACED = "replaced"  # the chapter (or another) was opened again, e.g. in a second tab
    CHAPTER_DONE = "chapter_done"
    PAGE_CLOSED = "page_closed"  # the player's page was closed (its last heartbeat said so)

    CODES = {
        IDLE: "SessionEnded",
        CAPTCHA_TIMEOUT: "CaptchaTimeout",
        CAPTCHA_WRONG: "CaptchaTooManyWrong",
        REPLACED: "SessionReplaced",
        CHAPTER_DONE: "SessionEnded",
        PAGE_CLOSED: "SessionEnded",
    }


# ---- workflow payloads ---------------------------------------------------------------------------


@dataclass
class ChapterSpec:
    chapter_id: int
    seq: int
    title: str
    duration_seconds: int


@dataclass
class CourseRef:
    """What the study process needs of a course; the web layer reads it from the catalog."""

    course_id: int
    school_id: int
    major_id: int
    hours: str  # decimal as text
    chapters: list[ChapterSpec]

    @property
    def total_seconds(self) -> int:
        return sum(c.duration_seconds for c in self.chapters)


@dataclass
class StudyRules:
    """The knobs of config.Settings the workflow needs (passed in: workflows read no settings)."""

    heartbeat_seconds: float = 30
    heartbeat_tolerance_seconds: float = 5
    captcha_min_seconds: float = 600
    captcha_max_seconds: float = 1200
    captcha_timeout_seconds: float = 90
    captcha_max_wrong: int = 3
    idle_end_seconds: float = 300
    # no report of an open session for this long: the workflow asks the ledger itself
    backstop_seconds: float = 6 * 3600
    # a run continues as new after a session ends once its history is this long (or when suggested)
    continue_after_events: int = 1000


@dataclass
class Session:
    """A session the workflow opened; its running state lives in the ledger (domain/study_ledger.py)."""

    session_id: str
    chapter_index: int
    opened_at: float
    start_credit: float  # the chapter's credit when it opened: a report may add only the clock's time
    captcha_at: list[float]  # the plan's captcha moments (chapter positions)
    backstop_at: float  # no report by then: the workflow asks the ledger


@dataclass
class StudyState:
    """Everything the workflow knows; carried whole through continue-as-new."""

    status: str
    course: CourseRef
    credited: list[float]  # per chapter, in course order
    claimed: bool = False  # the trainee's one-course slot is ours (db: active_study)
    # playback seconds left before the next check: None until the first session draws it; 0 = due
    until_captcha: float | None = None
    captcha_serial: int = 0  # captcha image serials handed out so far
    session: Session | None = None
    ended: dict[str, str] = field(default_factory=dict)  # recent session id -> end reason
    completion_recorded: bool = False
    swapped_from: list[int] = field(default_factory=list)
    events_before: int = 0  # history events of earlier runs (for the benchmark and operators)


@dataclass
class StudyInput:
    enrollment_id: int
    trainee_id: int
    school_id: int
    training_year: int
    course: CourseRef
    rules: StudyRules
    state: StudyState | None = None  # set by continue-as-new
    # for the operator's summary (domain/process_text.py) only
    trainee_name: str = ""
    course_title: str = ""


@dataclass
class OpenSession:
    trainee_id: int
    chapter_id: int


@dataclass
class SwapRequest:
    trainee_id: int
    course: CourseRef


@dataclass
class WithdrawRequest:
    trainee_id: int


@dataclass
class SessionView:
    """What the player needs after every call: where it is, what comes next."""

    session_id: str
    chapter_id: int
    duration: int
    position: float  # the credited position: the player continues from here
    chapter_done: bool = False
    course_done: bool = False
    captcha_serial: int | None = None  # a captcha is pending: show image #serial
    captcha_expires_in: float | None = None
    check_in: float | None = None  # playback seconds until the next captcha (send a heartbeat then)
    ended: str | None = None  # refusal code when the session is over (CaptchaTooManyWrong, ...)
    wrong: bool = False  # the last captcha answer was wrong (a new image is pending)
    paused: bool = False  # the page is hidden: playback paused, nothing accrues


@dataclass
class ReportAnswer:
    """The workflow's answer to a session's report: the course is complete (and shows so)."""

    course_done: bool


@dataclass
class ChapterView:
    chapter_id: int
    seq: int
    title: str
    duration: int
    credited: float
    done: bool
    open: bool  # may be studied now (the first unfinished chapter)


def reopen(chapters: list[ChapterView]) -> None:
    """Marks the first unfinished chapter as the one open, and only it (chapters in order)."""
    first = next((i for i, c in enumerate(chapters) if not c.done), None)
    for i, chapter in enumerate(chapters):
        chapter.open = i == first


@dataclass
class StudyProgress:
    status: str
    course_id: int
    chapters: list[ChapterView]
    credited_total: float
    total_seconds: int
    session_id: str | None = None
    history_events: int = 0


# ---- activity payloads ---------------------------------------------------------------------------


@dataclass
class ClaimStudy:
    """First session of an enrollment: take the trainee's one-course slot and mark it studying."""

    trainee_id: int
    enrollment_id: int
    started_at: float


@dataclass
class ClaimResult:
    ok: bool
    holder_enrollment_id: int | None = None


@dataclass
class ChapterCredit:
    chapter_id: int
    credited_seconds: int
    completed: bool


@dataclass
class ProgressRecord:
    enrollment_id: int
    credited_seconds: int
    chapters: list[ChapterCredit]
    completed_at: float | None = None  # set once: the course is complete (projection + slot release)
    trainee_id: int = 0


@dataclass
class EndLedgerSession:
    """The workflow ends a session in the ledger itself: a takeover by a new session, or a backstop
    when no report came (the ledger gives back the session's outcome)."""

    enrollment_id: int
    session_id: str
    reason: str  # EndReason
    at: float
    force: bool = True  # False (the backstop): end it only if its own deadline has passed


@dataclass
class SwapCourse:
    enrollment_id: int
    from_course_id: int
    to_course_id: int
    total_seconds: int


@dataclass
class SwapResult:
    ok: bool
    code: str | None = None


@dataclass
class WithdrawResult:
    ok: bool
    code: str | None = None
    order_no: str = ""
    trade_no: str = ""
    amount_cents: int = 0


# ---- rules ---------------------------------------------------------------------------------------


@dataclass
class Credit:
    gain: float
    slack: float


def credit_heartbeat(
    *,
    credited: float,
    claimed: float,
    elapsed: float,
    slack: float,
    tolerance: float,
    remaining: float,
    until_captcha: float | None = None,
) -> Credit:
    """The credit one heartbeat earns and the tolerance budget left after it.

    ``credited``: the chapter's credited position; ``claimed``: the position the player reports;
    ``elapsed``: wall-clock seconds since the last accepted heartbeat; ``remaining``: what the
    chapter has left; ``until_captcha``: playback left before the next check (credit stops there).

    A claim beyond what the wall clock allows is a seek: ``DomainError("SeekNotAllowed")``.
    Invariant (per session): credit - wall time <= tolerance.
    """
    check_position(credited=credited, claimed=claimed, elapsed=elapsed, slack=slack)
    allowance = max(elapsed, 0.0) + slack
    gain = min(max(claimed - credited, 0.0), allowance, max(remaining, 0.0))
    if until_captcha is not None:
        gain = min(gain, max(until_captcha, 0.0))
    return Credit(gain=gain, slack=min(tolerance, allowance - gain))


def check_position(*, credited: float, claimed: float, elapsed: float, slack: float) -> None:
    """Refuses a claimed position ahead of what playing since the last heartbeat could reach."""
    if claimed > credited + max(elapsed, 0.0) + slack + 1e-6:
        raise DomainError("SeekNotAllowed")


def chapter_done(credited: float, duration: int) -> bool:
    return credited >= duration - 1e-6


def first_open_chapter(credited: list[float], chapters: list[ChapterSpec]) -> int | None:
    """Index of the chapter that may be studied now (the first unfinished one); None when all done."""
    for i, chapter in enumerate(chapters):
        if not chapter_done(credited[i], chapter.duration_seconds):
            return i
    return None


def check_chapter_open(index: int | None, credited: list[float], chapters: list[ChapterSpec]) -> None:
    """Chapters are studied in order: only the first unfinished one opens."""
    if index is None:
        raise DomainError("NotFound")
    current = first_open_chapter(credited, chapters)
    if current is None or index < current:
        raise DomainError("ChapterDone")
    if index > current:
        raise DomainError("ChapterLocked")


def next_captcha_in(rnd: random.Random, rules: StudyRules) -> float:
    """Playback seconds until the next check, drawn uniformly from the configured interval."""
    low, high = sorted((rules.captcha_min_seconds, rules.captcha_max_seconds))
    return rnd.uniform(low, high)


def captcha_moments(
    rnd: random.Random, start: float, first_in: float | None, duration: int, rules: StudyRules
) -> list[float]:
    """A session's captcha moments (chapter positions) from ``start``: the first after ``first_in``
    seconds of playback (drawn when None; at once when 0), then one every 10-20 minutes, up to the
    first one beyond the chapter's end (what is left of it carries over to the next chapter)."""
    at = start + (next_captcha_in(rnd, rules) if first_in is None else max(first_in, 0.0))
    moments = [at]
    while moments[-1] < duration and len(moments) < MAX_PLANNED_CAPTCHAS:
        moments.append(moments[-1] + max(next_captcha_in(rnd, rules), 1.0))
    return moments


def captcha_left(captcha_at: list[float], passed: int, credited: float, pending: bool) -> float | None:
    """Playback left before the next captcha once a session ended: 0 when it ended on one (the next
    session starts with it); None when the plan ran out (the next session draws afresh)."""
    if pending:
        return 0.0
    if passed < len(captcha_at):
        return max(captcha_at[passed] - credited, 0.0)
    return None


def accepted_credit(
    claimed: float, *, start: float, opened_at: float, now: float, tolerance: float, duration: int
) -> float:
    """The credit the workflow counts of a session's report: never more than its own clock allows
    since the session opened (plus the tolerance), never past the chapter, never less than before."""
    allowed = start + max(now - opened_at, 0.0) + tolerance
    return max(start, min(claimed, allowed, float(duration)))


def captcha_text(rnd: random.Random, length: int = CAPTCHA_LENGTH) -> str:
    """The text of a new captcha (in a workflow ``rnd`` is ``workflow.random()``: replay-safe)."""
    return "".join(rnd.choice(CAPTCHA_ALPHABET) for _ in range(length))


def captcha_matches(expected: str, answer: str) -> bool:
    """Case-insensitive, ignoring surrounding spaces."""
    return expected.strip().upper() == (answer or "").strip().upper()


def check_swap(current: CourseRef, new: CourseRef, status: str, claimed: bool) -> None:
    """换课: only an unstudied course, for one of the same school, major and hours."""
    if status == StudyStatus.WITHDRAWN:
        raise DomainError("NotFound")
    if status != StudyStatus.NOT_STARTED or claimed:
        raise DomainError("SwapOnlyUnstudied")
    if new.course_id == current.course_id:
        raise DomainError("CourseAlreadyHeld")
    if (new.school_id, new.major_id) != (current.school_id, current.major_id) or _hours(new.hours) != _hours(
        current.hours
    ):
        raise DomainError("SwapSameMajorAndHours")


def check_withdraw(status: str, claimed: bool) -> None:
    """退课: only an unstudied course (a second press on a withdrawn one is harmless)."""
    if status == StudyStatus.WITHDRAWN:
        return
    if status != StudyStatus.NOT_STARTED or claimed:
        raise DomainError("WithdrawOnlyUnstudied")


def withdraw_refund_no(enrollment_id: int) -> str:
    """The provider's idempotency key for a withdrawal's refund: one refund per enrollment, ever."""
    return f"W-{enrollment_id}"


def _hours(text: str) -> float:
    return round(float(text), 1)
