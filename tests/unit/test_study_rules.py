"""The study accounting rules: wall-clock credit, no seeking, chapter order, captcha draws, a session's
captcha moments and what is left of them, the credit the workflow accepts of a report, swap/withdraw."""

from __future__ import annotations

import random

import pytest

from domain.errors import DomainError
from domain.study import (
    CAPTCHA_ALPHABET,
    MAX_PLANNED_CAPTCHAS,
    ChapterSpec,
    ChapterView,
    CourseRef,
    StudyRules,
    StudyStatus,
    accepted_credit,
    captcha_left,
    captcha_matches,
    captcha_moments,
    captcha_text,
    check_chapter_open,
    check_swap,
    check_withdraw,
    credit_heartbeat,
    first_open_chapter,
    next_captcha_in,
    reopen,
)
from media.captcha_image import ALPHABET as IMAGE_ALPHABET

TOL = 5.0


def beat(
    credited: float,
    claimed: float,
    elapsed: float,
    slack: float = TOL,
    remaining: float = 600,
    until_captcha: float | None = None,
) -> tuple[float, float]:
    c = credit_heartbeat(
        credited=credited,
        claimed=claimed,
        elapsed=elapsed,
        slack=slack,
        tolerance=TOL,
        remaining=remaining,
        until_captcha=until_captcha,
    )
    return c.gain, c.slack


def test_normal_playback_is_credited_in_full() -> None:
    assert beat(0, 30, 30) == (30, TOL)


def test_credit_never_exceeds_wall_clock_plus_tolerance_over_a_session() -> None:
    """A client beating every second and claiming 6 s each time gets the tolerance once, not 5 s a beat."""
    credited, slack, wall = 0.0, TOL, 0.0
    for _ in range(100):
        wall += 1
        claim = credited + 1 + slack  # the most it may claim without being refused as a seek
        gain, slack = beat(credited, claim, 1, slack)
        credited += gain
        assert credited <= wall + TOL + 1e-9
    assert credited == pytest.approx(100 + TOL)


def test_paused_time_is_not_credited() -> None:
    # paused for 10 minutes, then played 10 s: only 10 s count
    assert beat(100, 110, 610)[0] == 10


def test_claim_ahead_of_what_the_clock_allows_is_a_seek() -> None:
    with pytest.raises(DomainError) as err:
        beat(100, 200, 30)
    assert err.value.code == "SeekNotAllowed"
    assert err.value.message == "学习过程中视频不可拖动播放"


def test_small_clock_jitter_uses_the_tolerance_and_is_not_a_seek() -> None:
    gain, slack = beat(0, 32, 30)
    assert gain == 32 and slack == pytest.approx(3)


def test_a_player_behind_the_credit_gains_nothing_and_loses_nothing() -> None:
    assert beat(100, 50, 30)[0] == 0


def test_credit_stops_at_the_chapter_end_and_at_the_next_captcha() -> None:
    assert beat(590, 620, 30, remaining=10)[0] == 10
    assert beat(0, 30, 30, until_captcha=12)[0] == 12


CHAPTERS = [ChapterSpec(1, 1, "一", 60), ChapterSpec(2, 2, "二", 90), ChapterSpec(3, 3, "三", 120)]


def test_chapters_open_in_order_only() -> None:
    credited = [60.0, 10.0, 0.0]
    assert first_open_chapter(credited, CHAPTERS) == 1
    check_chapter_open(1, credited, CHAPTERS)
    with pytest.raises(DomainError) as locked:
        check_chapter_open(2, credited, CHAPTERS)
    assert locked.value.message == "需要按目录顺序学习，请先学完上一章节"
    with pytest.raises(DomainError) as done:
        check_chapter_open(0, credited, CHAPTERS)
    assert done.value.code == "ChapterDone"
    assert first_open_chapter([60, 90, 120], CHAPTERS) is None


def test_captcha_draws_are_reproducible_from_the_seed_and_use_the_image_alphabet() -> None:
    assert CAPTCHA_ALPHABET == IMAGE_ALPHABET
    a, b = random.Random(7), random.Random(7)
    assert captcha_text(a) == captcha_text(b)
    assert all(ch in CAPTCHA_ALPHABET for ch in captcha_text(random.Random(1)))
    rules = StudyRules(captcha_min_seconds=600, captcha_max_seconds=1200)
    draws = [next_captcha_in(random.Random(i), rules) for i in range(50)]
    assert all(600 <= d <= 1200 for d in draws) and len(set(draws)) > 40
    assert captcha_matches("AB3D", " ab3d ") and not captcha_matches("AB3D", "AB3E")


def test_captcha_moments_come_every_10_to_20_minutes_of_playback_up_to_one_beyond_the_chapter() -> None:
    rules = StudyRules(captcha_min_seconds=600, captcha_max_seconds=1200)
    for seed in range(20):
        moments = captcha_moments(random.Random(seed), 100, None, 5400, rules)
        assert 700 <= moments[0] <= 1300  # drawn from the start position
        gaps = [b - a for a, b in zip(moments, moments[1:], strict=False)]
        assert all(600 <= g <= 1200 for g in gaps)
        assert moments[-1] >= 5400 and all(m < 5400 for m in moments[:-1])
    assert captcha_moments(random.Random(1), 100, None, 5400, rules) == captcha_moments(
        random.Random(1), 100, None, 5400, rules
    )


def test_captcha_moments_carry_what_was_left_and_start_with_a_due_one() -> None:
    rules = StudyRules(captcha_min_seconds=600, captcha_max_seconds=600)
    assert captcha_moments(random.Random(0), 50, 30, 700, rules) == [80, 680, 1280]
    assert captcha_moments(random.Random(0), 50, 0, 60, rules) == [50, 650]  # at once
    assert captcha_moments(random.Random(0), 50, -5, 60, rules)[0] == 50
    assert captcha_moments(random.Random(0), 0, 2000, 60, rules) == [2000]  # beyond the chapter: carried


def test_captcha_moments_are_bounded_whatever_the_settings() -> None:
    rules = StudyRules(captcha_min_seconds=0, captcha_max_seconds=0)
    moments = captcha_moments(random.Random(0), 0, None, 10**6, rules)
    assert len(moments) == MAX_PLANNED_CAPTCHAS
    assert all(b - a >= 1 for a, b in zip(moments, moments[1:], strict=False))


def test_captcha_left_after_a_session() -> None:
    at = [100.0, 700.0]
    assert captcha_left(at, 0, 40, pending=False) == 60
    assert captcha_left(at, 1, 300, pending=False) == 400
    assert captcha_left(at, 0, 100, pending=True) == 0  # ended on one: the next session starts with it
    assert captcha_left(at, 0, 150, pending=False) == 0  # never negative
    assert captcha_left(at, 2, 800, pending=False) is None  # the plan ran out: draw afresh


def test_accepted_credit_is_capped_by_the_workflows_clock_and_the_chapter() -> None:
    def accepted(claimed: float, now: float) -> float:
        return accepted_credit(claimed, start=100, opened_at=1000, now=now, tolerance=5, duration=600)

    assert accepted(130, now=1030) == 130  # an honest report
    assert accepted(134, now=1030) == 134  # within the tolerance
    assert accepted(600, now=1030) == 135  # forged: only the clock's time since opening
    assert accepted(9999, now=5000) == 600  # never past the chapter
    assert accepted(50, now=1030) == 100  # never less than before
    assert accepted(200, now=900) == 105  # a clock behind the opening gives nothing


def course(cid: int, major: int = 1, hours: str = "4", school: int = 1) -> CourseRef:
    return CourseRef(cid, school, major, hours, CHAPTERS)


@pytest.mark.parametrize(
    ("new", "status", "claimed", "code"),
    [
        (course(2), StudyStatus.STUDYING, True, "SwapOnlyUnstudied"),
        (course(2), StudyStatus.COMPLETED, True, "SwapOnlyUnstudied"),
        (course(2, major=9), StudyStatus.NOT_STARTED, False, "SwapSameMajorAndHours"),
        (course(2, hours="6"), StudyStatus.NOT_STARTED, False, "SwapSameMajorAndHours"),
        (course(2, school=2), StudyStatus.NOT_STARTED, False, "SwapSameMajorAndHours"),
        (course(1), StudyStatus.NOT_STARTED, False, "CourseAlreadyHeld"),
    ],
)
def test_swap_refusals(new: CourseRef, status: str, claimed: bool, code: str) -> None:
    with pytest.raises(DomainError) as err:
        check_swap(course(1), new, status, claimed)
    assert err.value.code == code


def test_swap_to_same_major_and_hours_is_allowed() -> None:
    check_swap(course(1, hours="4.0"), course(2, hours="4"), StudyStatus.NOT_STARTED, False)


def test_withdraw_only_unstudied_and_twice_is_harmless() -> None:
    check_withdraw(StudyStatus.NOT_STARTED, False)
    check_withdraw(StudyStatus.WITHDRAWN, False)
    for status in (StudyStatus.STUDYING, StudyStatus.COMPLETED):
        with pytest.raises(DomainError) as err:
            check_withdraw(status, True)
        assert err.value.message == "只有未学习的课程才可以进行退课"


def test_reopen_opens_the_first_unfinished_chapter_only() -> None:
    views = [ChapterView(i, i, f"第{i}章", 60, c, c >= 60, i == 1) for i, c in enumerate((60.0, 60.0, 0.0, 0.0))]
    reopen(views)
    assert [v.open for v in views] == [False, False, True, False]
    for v in views:
        v.done = True
    reopen(views)
    assert not any(v.open for v in views)  # all done: nothing left to open
