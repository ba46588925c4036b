"""The live-session ledger's rules (domain/study_ledger.py), as the web layer applies them to a playing
session on every heartbeat: wall-clock credit within a tolerance budget and never past the chapter,
no credit while a captcha waits or the page is hidden, seeks refused, captchas at their planned
positions (right, wrong, too many wrong, unanswered), the idle end, a closed page, a completed
chapter; the report and the view built from the state, its deadline and its stored form."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from domain.study import EndReason
from domain.study_ledger import (
    LiveSession,
    PlannedCaptcha,
    SessionPlan,
    SessionReport,
    answer,
    beat,
    close,
    end,
    expire,
    open_live,
    report_of,
    view_of,
)

T0 = 1_000.0  # the session opens then
TOL = 5.0
TEXTS = ["AAAA", "BBBB", "CCCC"]


def plan(
    *,
    duration: int = 600,
    credited: float = 0.0,
    captchas: list[float] | None = None,
    serial_base: int = 0,
    idle_end: float = 300,
    captcha_timeout: float = 90,
) -> SessionPlan:
    moments = [100.0, 700.0] if captchas is None else captchas
    return SessionPlan(
        session_id="s-1",
        enrollment_id=11,
        trainee_id=7,
        chapter_id=101,
        duration=duration,
        credited=credited,
        opened_at=T0,
        captchas=[PlannedCaptcha(at, [f"{t[:3]}{i}" if i else t for t in TEXTS]) for i, at in enumerate(moments)],
        tolerance=TOL,
        captcha_timeout=captcha_timeout,
        captcha_max_wrong=3,
        idle_end=idle_end,
        serial_base=serial_base,
    )


def playing(**kw: object) -> LiveSession:
    return open_live(plan(**kw))  # type: ignore[arg-type]


def at_captcha() -> LiveSession:
    """Credited up to the first captcha (100 s), which is pending since T0 + 120."""
    step = beat(playing(), now=T0 + 120, claimed=120)
    assert step.live.captcha_pending and step.live.captcha_since == T0 + 120
    return step.live


# ---- credit -------------------------------------------------------------------------------------


def test_a_new_session_starts_from_the_plan_and_accrues_wall_clock_time() -> None:
    live = playing(credited=20)
    assert (live.credited, live.last_beat_at, live.last_seen_at, live.slack) == (20, T0, T0, TOL)
    assert not live.captcha_pending and live.ended is None
    step = beat(live, now=T0 + 30, claimed=50)
    assert step.refusal is None and step.gain == 30
    assert (step.live.credited, step.live.last_beat_at, step.live.slack) == (50, T0 + 30, TOL)


def test_the_tolerance_is_a_budget_per_session_not_a_gift_per_heartbeat() -> None:
    live = beat(playing(), now=T0 + 30, claimed=30).live
    step = beat(live, now=T0 + 31, claimed=36)  # 1 s later, 6 s claimed: the whole budget
    assert step.gain == 6 and step.live.slack == 0
    refused = beat(step.live, now=T0 + 32, claimed=38)  # 1 s later, 2 s claimed: the budget is spent
    assert refused.refusal == "SeekNotAllowed" and refused.live.credited == 36
    ok = beat(step.live, now=T0 + 32, claimed=37)
    assert ok.gain == 1 and ok.live.credited == 37
    assert ok.live.credited - (ok.live.last_beat_at - T0) <= TOL


def test_a_beat_every_second_never_gets_more_than_the_clock_plus_the_tolerance() -> None:
    live = playing(duration=600, captchas=[10_000])
    for i in range(1, 101):
        claimed = live.credited + 1 + live.slack  # the most that is not a seek
        live = beat(live, now=T0 + i, claimed=claimed).live
        assert live.credited <= i + TOL + 1e-9
    assert live.credited == pytest.approx(100 + TOL)


def test_credit_never_passes_the_chapter_and_its_end_completes_the_chapter() -> None:
    step = beat(playing(duration=60, credited=50, captchas=[10_000]), now=T0 + 14, claimed=64)
    assert step.refusal is None and step.gain == 10
    assert step.live.credited == 60.0 and step.live.ended == EndReason.CHAPTER_DONE
    assert step.live.ended_at == T0 + 14
    assert view_of(step.live, T0 + 14).chapter_done
    assert not view_of(step.live, T0 + 14).course_done  # other chapters are left
    late = beat(step.live, now=T0 + 20, claimed=60)
    assert late.refusal == "SessionEnded" and late.live.credited == 60


def test_completing_the_last_chapter_tells_the_page_the_course_is_done() -> None:
    last = replace(plan(duration=60, credited=50, captchas=[10_000]), completes_course=True)
    mid = beat(open_live(last), now=T0 + 5, claimed=55)
    assert not view_of(mid.live, T0 + 5).course_done  # only once the chapter is complete
    done = beat(mid.live, now=T0 + 10, claimed=60)
    view = view_of(done.live, T0 + 10)
    assert view.chapter_done and view.course_done


def test_a_seek_is_refused_and_credits_nothing() -> None:
    live = beat(playing(), now=T0 + 20, claimed=20).live
    step = beat(live, now=T0 + 30, claimed=55)  # 35 s claimed after 10 s
    assert step.refusal == "SeekNotAllowed" and step.gain == 0
    assert step.live.credited == 20 and step.live.last_beat_at == T0 + 20  # the clock runs on from there
    assert step.live.last_seen_at == T0 + 30  # but the page is alive
    assert view_of(step.live, T0 + 30).position == 20  # the player is put back
    assert beat(step.live, now=T0 + 30, claimed=30).live.credited == 30


def test_a_player_behind_the_credit_gains_nothing() -> None:
    live = beat(playing(), now=T0 + 50, claimed=50).live
    step = beat(live, now=T0 + 80, claimed=10)
    assert step.refusal is None and step.gain == 0 and step.live.credited == 50


def test_nothing_accrues_after_the_page_said_hidden_and_the_clock_restarts_at_the_next_beat() -> None:
    step = beat(playing(), now=T0 + 30, claimed=30, hidden=True)
    assert step.gain == 30 and step.live.hidden and view_of(step.live, T0 + 30).paused
    shown = beat(step.live, now=T0 + 270, claimed=270)  # four minutes hidden
    assert shown.gain == 0 and shown.refusal is None and shown.live.credited == 30
    assert not shown.live.hidden and shown.live.last_beat_at == T0 + 270
    after = beat(shown.live, now=T0 + 280, claimed=40)
    assert after.gain == 10 and after.live.credited == 40
    assert beat(shown.live, now=T0 + 280, claimed=60).refusal == "SeekNotAllowed"


# ---- captchas -----------------------------------------------------------------------------------


def test_a_captcha_is_raised_at_its_planned_position_and_credit_stops_there() -> None:
    step = beat(playing(), now=T0 + 120, claimed=120)
    live = step.live
    assert step.gain == 100 and live.credited == 100
    assert live.captcha_text == "AAAA" and live.captcha_serial == 1
    view = view_of(live, T0 + 150)
    assert view.captcha_serial == 1 and view.captcha_expires_in == 60 and view.check_in is None
    waiting = beat(live, now=T0 + 150, claimed=150)
    assert waiting.refusal is None and waiting.gain == 0 and waiting.live.credited == 100
    assert waiting.live.captcha_since == T0 + 120  # its time limit keeps running


def test_a_right_answer_resumes_and_the_time_on_the_captcha_is_not_credited() -> None:
    step = answer(at_captcha(), now=T0 + 150, text=" aaaa ")
    live = step.live
    assert step.refusal is None and not step.wrong
    assert live.passed == 1 and not live.captcha_pending and live.wrong == 0
    assert live.last_beat_at == T0 + 150 and live.slack == TOL and live.next_captcha_at == 700
    assert view_of(live, T0 + 150).check_in == 600
    assert beat(live, now=T0 + 160, claimed=130).refusal == "SeekNotAllowed"  # 30 s on the captcha
    assert beat(live, now=T0 + 160, claimed=110).live.credited == 110


def test_the_next_captcha_comes_at_its_own_position_with_its_own_serial() -> None:
    live = open_live(plan(duration=1000, credited=100, captchas=[100, 700], idle_end=10_000))
    live = answer(live, now=T0 + 1, text="AAAA").live
    step = beat(live, now=T0 + 601, claimed=700)
    assert step.live.captcha_pending and step.live.credited == 700 and step.live.captcha_text == "AAA1"
    assert step.live.captcha_serial == 1 * (3 + 1) + 1
    assert step.live.next_captcha_at == 700


def test_a_wrong_answer_shows_a_new_text_with_a_new_serial() -> None:
    live = at_captcha()
    step = answer(live, now=T0 + 130, text="ZZZZ")
    assert step.wrong and step.refusal is None
    assert step.live.wrong == 1 and step.live.captcha_text == "BBBB" and step.live.captcha_serial == 2
    assert step.live.captcha_since == T0 + 130  # the new image has its full time
    again = answer(step.live, now=T0 + 140, text="AAAA")  # the old text no longer counts
    assert again.wrong and again.live.captcha_text == "CCCC" and again.live.captcha_serial == 3
    assert answer(again.live, now=T0 + 150, text="cccc").live.passed == 1


def test_the_third_wrong_answer_ends_the_session() -> None:
    live = at_captcha()
    for i in range(2):
        live = answer(live, now=T0 + 130 + i, text="ZZZZ").live
    step = answer(live, now=T0 + 140, text="ZZZZ")
    assert step.refusal == "CaptchaTooManyWrong"
    assert step.live.ended == EndReason.CAPTCHA_WRONG and step.live.ended_at == T0 + 140
    assert beat(step.live, now=T0 + 141, claimed=100).refusal == "CaptchaTooManyWrong"
    assert report_of(step.live).captcha_pending


def test_an_answer_without_a_pending_captcha_changes_nothing_but_the_last_seen_time() -> None:
    live = beat(playing(), now=T0 + 30, claimed=30).live
    step = answer(live, now=T0 + 40, text="AAAA")
    assert step.refusal is None and step.live.passed == 0 and step.live.last_seen_at == T0 + 40


def test_an_unanswered_captcha_times_out() -> None:
    live = at_captcha()
    assert live.deadline == T0 + 120 + 90
    assert expire(live, T0 + 209).live is live
    step = expire(live, T0 + 210)
    assert step.refusal == "CaptchaTimeout"
    assert step.live.ended == EndReason.CAPTCHA_TIMEOUT and step.live.ended_at == T0 + 210
    late = beat(live, now=T0 + 211, claimed=100)  # a heartbeat after the limit meets the same end
    assert late.refusal == "CaptchaTimeout" and late.live.ended == EndReason.CAPTCHA_TIMEOUT
    assert answer(live, now=T0 + 211, text="AAAA").refusal == "CaptchaTimeout"  # too late to answer


def test_a_silent_page_ends_after_the_idle_time() -> None:
    live = beat(playing(), now=T0 + 30, claimed=30).live
    assert live.deadline == T0 + 30 + 300
    assert expire(live, T0 + 329).live.ended is None
    step = expire(live, T0 + 330)
    assert step.refusal == "SessionEnded" and step.live.ended == EndReason.IDLE
    late = beat(live, now=T0 + 400, claimed=100)
    assert late.refusal == "SessionEnded" and late.live.credited == 30
    assert expire(step.live, T0 + 999).live is step.live  # an ended session stays as it was


def test_the_deadline_is_the_idle_end_or_the_captcha_limit_whichever_comes_first() -> None:
    assert playing().deadline == T0 + 300
    assert at_captcha().deadline == T0 + 210
    short_idle = beat(playing(idle_end=150, captcha_timeout=200), now=T0 + 120, claimed=120).live
    assert short_idle.captcha_pending and short_idle.deadline == T0 + 120 + 150


def test_a_session_that_ended_on_a_captcha_starts_the_next_with_one_at_once() -> None:
    live = open_live(plan(credited=100, captchas=[100, 700]))
    assert live.captcha_pending and live.captcha_since == T0 and live.captcha_text == "AAAA"
    assert view_of(live, T0).captcha_serial == 1
    assert not open_live(plan(credited=99, captchas=[100, 700])).captcha_pending


def test_serials_continue_from_the_plans_base() -> None:
    live = beat(playing(serial_base=40), now=T0 + 100, claimed=100).live
    assert live.captcha_serial == 41
    assert answer(live, now=T0 + 101, text="x").live.captcha_serial == 42


# ---- the end of a session -----------------------------------------------------------------------


def test_closing_the_page_counts_its_last_beat_then_ends_the_session() -> None:
    live = beat(playing(), now=T0 + 30, claimed=30).live
    step = close(live, now=T0 + 40, claimed=40)
    assert step.refusal is None and step.gain == 10
    assert step.live.credited == 40 and step.live.ended == EndReason.PAGE_CLOSED and step.live.ended_at == T0 + 40
    assert close(step.live, now=T0 + 41, claimed=41).refusal == "SessionEnded"


def test_closing_on_the_chapters_last_second_completes_the_chapter() -> None:
    step = close(playing(duration=60, captchas=[10_000]), now=T0 + 60, claimed=60)
    assert step.live.ended == EndReason.CHAPTER_DONE and step.live.credited == 60


def test_a_seek_in_the_closing_beat_still_ends_the_session_with_the_credit_so_far() -> None:
    live = beat(playing(), now=T0 + 30, claimed=30).live
    step = close(live, now=T0 + 40, claimed=400)
    assert step.live.ended == EndReason.PAGE_CLOSED and step.live.credited == 30


def test_end_takes_the_given_reason_unless_the_deadline_already_ended_it() -> None:
    live = beat(playing(), now=T0 + 30, claimed=30).live
    replaced = end(live, EndReason.REPLACED, T0 + 40)
    assert replaced.ended == EndReason.REPLACED and replaced.ended_at == T0 + 40 and replaced.credited == 30
    assert beat(replaced, now=T0 + 41, claimed=41).refusal == "SessionReplaced"
    assert end(live, EndReason.REPLACED, T0 + 400).ended == EndReason.IDLE  # it had gone silent
    assert end(at_captcha(), EndReason.REPLACED, T0 + 300).ended == EndReason.CAPTCHA_TIMEOUT
    assert end(replaced, EndReason.IDLE, T0 + 999) is replaced


def test_report_of_an_ended_and_of_a_playing_session() -> None:
    live = beat(playing(), now=T0 + 30, claimed=30).live
    assert report_of(live) == SessionReport("s-1", 101, 30, 0, "", T0 + 30, False)
    closed = close(live, now=T0 + 45, claimed=45).live
    assert report_of(closed) == SessionReport("s-1", 101, 45, 0, EndReason.PAGE_CLOSED, T0 + 45, False)
    passed = answer(at_captcha(), now=T0 + 130, text="AAAA").live
    assert report_of(passed).passed == 1 and not report_of(passed).captcha_pending
    timed_out = expire(at_captcha(), T0 + 210).live
    report = report_of(timed_out)
    assert report.reason == EndReason.CAPTCHA_TIMEOUT and report.captcha_pending and report.credited == 100
    assert report.at == T0 + 210


def test_view_of_a_playing_session() -> None:
    live = beat(playing(), now=T0 + 30, claimed=30, hidden=True).live
    view = view_of(live, T0 + 30)
    assert (view.session_id, view.chapter_id, view.duration, view.position) == ("s-1", 101, 600, 30)
    assert view.check_in == 70 and view.captcha_serial is None and view.captcha_expires_in is None
    assert view.paused and not view.chapter_done and view.ended is None
    assert view_of(at_captcha(), T0 + 500).captcha_expires_in == 0  # never negative
    no_more = open_live(plan(captchas=[]))
    assert no_more.next_captcha_at is None and view_of(no_more, T0).check_in is None


def test_the_stored_form_round_trips() -> None:
    live = answer(at_captcha(), now=T0 + 130, text="ZZZZ").live
    data = json.loads(json.dumps(live.to_dict()))
    back = LiveSession.from_dict(data)
    assert back == live
    assert isinstance(back.plan.captchas[0], PlannedCaptcha) and back.deadline == live.deadline
    ended = close(playing(), now=T0 + 10, claimed=10).live
    assert LiveSession.from_dict(json.loads(json.dumps(ended.to_dict()))) == ended


def test_a_row_stored_before_completes_course_existed_reads_as_not_completing() -> None:
    data = json.loads(json.dumps(playing().to_dict()))
    del data["plan"]["completes_course"]
    assert LiveSession.from_dict(data).plan.completes_course is False
