"""The live-session ledger's rules: what one heartbeat, one captcha answer or the passing of time does
to a playing session (no I/O).

The study workflow decides a session's plan when it opens it (``SessionPlan``: the chapter, the
credit it starts from, the playback moments of its captchas and their texts, the tolerance and the
time limits). The web layer keeps the session's running state (``LiveSession``) in a database row
and applies these rules to it on every heartbeat, so that heartbeats never reach the workflow. The
workflow hears the session's outcome once (``SessionReport``): when the chapter completes or the
session ends, and it checks the reported credit against its own clock before it counts it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from domain.errors import DomainError
from domain.study import EndReason, SessionView, captcha_matches, chapter_done, credit_heartbeat


@dataclass
class PlannedCaptcha:
    at: float  # the chapter position (credited seconds) at which it is due
    texts: list[str]  # the first image's text, then one fresh text for each wrong answer allowed


@dataclass
class SessionPlan:
    """What the workflow decides when it opens a session; the ledger only carries it out."""

    session_id: str
    enrollment_id: int
    trainee_id: int
    chapter_id: int
    duration: int  # the chapter's seconds
    credited: float  # the chapter's credit when the session opens
    opened_at: float
    captchas: list[PlannedCaptcha]  # in playback order; the last one lies beyond the chapter's end
    tolerance: float
    captcha_timeout: float
    captcha_max_wrong: int
    idle_end: float
    serial_base: int = 0  # captcha image serials continue from here (unique per enrollment)
    # every other chapter is done: completing this one completes the course (the page says so
    # without waiting for the workflow; sessions planned before this field say it never)
    completes_course: bool = False


@dataclass
class LiveSession:
    """A playing session as the ledger row holds it."""

    plan: SessionPlan
    credited: float
    last_beat_at: float  # the last credited heartbeat: credit is measured from here
    last_seen_at: float  # any heartbeat: the idle end is measured from here
    slack: float  # what is left of the tolerance budget
    hidden: bool = False  # the page said it is hidden: nothing accrues until it is shown again
    passed: int = 0  # captchas of the plan answered right
    captcha_since: float | None = None  # a captcha is pending since then (its time limit runs)
    wrong: int = 0  # wrong answers to the pending captcha
    ended: str | None = None  # EndReason once the session is over
    ended_at: float | None = None

    @property
    def captcha_pending(self) -> bool:
        return self.captcha_since is not None

    @property
    def deadline(self) -> float:
        """When the session ends by itself unless a heartbeat (or the answer) comes first."""
        idle = self.last_seen_at + self.plan.idle_end
        if self.captcha_since is None:
            return idle
        return min(idle, self.captcha_since + self.plan.captcha_timeout)

    @property
    def next_captcha_at(self) -> float | None:
        captchas = self.plan.captchas
        return captchas[self.passed].at if self.passed < len(captchas) else None

    @property
    def captcha_text(self) -> str | None:
        if self.captcha_since is None:
            return None
        texts = self.plan.captchas[self.passed].texts
        return texts[min(self.wrong, len(texts) - 1)]

    @property
    def captcha_serial(self) -> int | None:
        if self.captcha_since is None:
            return None
        return self.plan.serial_base + self.passed * (self.plan.captcha_max_wrong + 1) + self.wrong + 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> LiveSession:
        plan = dict(data["plan"])
        plan["captchas"] = [PlannedCaptcha(**c) for c in plan["captchas"]]
        return LiveSession(**{**data, "plan": SessionPlan(**plan)})


@dataclass
class SessionReport:
    """A session's outcome, for the workflow: absolute values, so a repeated report is harmless."""

    session_id: str
    chapter_id: int
    credited: float
    passed: int  # captchas answered right
    reason: str  # EndReason ("" while it is still playing: the backstop's question)
    at: float  # when the ledger ended the session
    captcha_pending: bool = False  # it ended on a captcha: the next session starts with one


@dataclass
class Step:
    """A rule's result: the new state, and the refusal code the page gets (None: accepted)."""

    live: LiveSession
    refusal: str | None = None
    gain: float = 0.0
    wrong: bool = False  # a captcha answer was wrong (a new image is pending)


# ---- rules ---------------------------------------------------------------------------------------


def open_live(plan: SessionPlan) -> LiveSession:
    """A new session; one that starts on a due captcha (the last ended on one) shows it at once."""
    live = LiveSession(
        plan=plan,
        credited=plan.credited,
        last_beat_at=plan.opened_at,
        last_seen_at=plan.opened_at,
        slack=plan.tolerance,
    )
    due = live.next_captcha_at
    if due is not None and due <= plan.credited + 1e-6:
        live.captcha_since = plan.opened_at
    return live


def expire(live: LiveSession, now: float) -> Step:
    """Ends a session whose deadline passed: an unanswered captcha, or a page that went silent."""
    if live.ended is not None:
        return Step(live)
    if now < live.deadline:
        return Step(live)
    timed_out = live.captcha_since is not None and now >= live.captcha_since + live.plan.captcha_timeout
    reason = EndReason.CAPTCHA_TIMEOUT if timed_out else EndReason.IDLE
    return Step(_ended(live, reason, now), EndReason.CODES[reason])


def beat(live: LiveSession, *, now: float, claimed: float, hidden: bool = False) -> Step:
    """One heartbeat: ``claimed`` is the position the player reports, ``hidden`` that the page is
    hidden now (the player paused). Credit follows ``domain.study.credit_heartbeat``."""
    over = _over(live, now)
    if over is not None:
        return over
    live = replace(live, last_seen_at=now)
    if live.captcha_pending or live.hidden:
        # nothing accrues while a captcha waits or the page was hidden; the clock restarts here
        return Step(replace(live, last_beat_at=now, hidden=hidden))
    elapsed = now - live.last_beat_at
    next_at = live.next_captcha_at
    try:
        credit = credit_heartbeat(
            credited=live.credited,
            claimed=claimed,
            elapsed=elapsed,
            slack=live.slack,
            tolerance=live.plan.tolerance,
            remaining=live.plan.duration - live.credited,
            until_captcha=None if next_at is None else next_at - live.credited,
        )
    except DomainError as err:
        return Step(live, err.code)  # a seek: the page is put back at the credited position
    live = replace(live, credited=live.credited + credit.gain, slack=credit.slack, last_beat_at=now, hidden=hidden)
    if chapter_done(live.credited, live.plan.duration):
        return Step(
            _ended(replace(live, credited=float(live.plan.duration)), EndReason.CHAPTER_DONE, now), gain=credit.gain
        )
    if next_at is not None and live.credited >= next_at - 1e-6:
        live = replace(live, captcha_since=now, wrong=0)
    return Step(live, gain=credit.gain)


def answer(live: LiveSession, *, now: float, text: str) -> Step:
    """The trainee's captcha answer: right → play on; wrong → a new image; too many → the end."""
    over = _over(live, now)
    if over is not None:
        return over
    live = replace(live, last_seen_at=now)
    expected = live.captcha_text
    if expected is None:
        return Step(live)
    if captcha_matches(expected, text):
        # the time spent on the captcha is not study time; the tolerance budget starts afresh
        return Step(
            replace(
                live, captcha_since=None, wrong=0, passed=live.passed + 1, last_beat_at=now, slack=live.plan.tolerance
            )
        )
    wrong = live.wrong + 1
    if wrong >= live.plan.captcha_max_wrong:
        reason = EndReason.CAPTCHA_WRONG
        return Step(_ended(replace(live, wrong=wrong), reason, now), EndReason.CODES[reason])
    return Step(replace(live, wrong=wrong, captcha_since=now), wrong=True)


def close(live: LiveSession, *, now: float, claimed: float) -> Step:
    """The page is closed (``pagehide``): its last heartbeat counts, then the session ends."""
    step = beat(live, now=now, claimed=claimed, hidden=True)
    if step.live.ended is not None:
        return step
    return Step(_ended(step.live, EndReason.PAGE_CLOSED, now), gain=step.gain)


def end(live: LiveSession, reason: str, now: float) -> LiveSession:
    """Ends the session now (the workflow's takeover or backstop); an ended one stays as it was."""
    if live.ended is not None:
        return live
    expired = expire(live, now)
    return expired.live if expired.live.ended is not None else _ended(live, reason, now)


def report_of(live: LiveSession) -> SessionReport:
    """The session's outcome; of a session still playing, its state so far (``reason`` empty)."""
    return SessionReport(
        session_id=live.plan.session_id,
        chapter_id=live.plan.chapter_id,
        credited=live.credited,
        passed=live.passed,
        reason=live.ended or "",
        at=live.ended_at if live.ended_at is not None else live.last_seen_at,
        captcha_pending=live.captcha_since is not None,
    )


def view_of(live: LiveSession, now: float) -> SessionView:
    """What the player needs after each call: the credited position and what comes next."""
    next_at = live.next_captcha_at
    pending = live.captcha_since is not None
    return SessionView(
        session_id=live.plan.session_id,
        chapter_id=live.plan.chapter_id,
        duration=live.plan.duration,
        position=live.credited,
        chapter_done=live.ended == EndReason.CHAPTER_DONE,
        course_done=live.ended == EndReason.CHAPTER_DONE and live.plan.completes_course,
        captcha_serial=live.captcha_serial,
        captcha_expires_in=(
            max(live.captcha_since + live.plan.captcha_timeout - now, 0.0) if live.captcha_since is not None else None
        ),
        check_in=None if pending or next_at is None else max(next_at - live.credited, 0.0),
        paused=live.hidden,
    )


def _over(live: LiveSession, now: float) -> Step | None:
    """The refusal for a session that is over (or whose deadline just passed), else None."""
    if live.ended is not None:
        return Step(live, EndReason.CODES.get(live.ended, "SessionEnded"))
    expired = expire(live, now)
    return expired if expired.live.ended is not None else None


def _ended(live: LiveSession, reason: str, now: float) -> LiveSession:
    return replace(live, ended=reason, ended_at=now)
