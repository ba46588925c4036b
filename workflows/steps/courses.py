# mypy: disable-error-code="empty-body"
"""activities/courses.py: CourseActivities (the catalogue's publication columns)."""

from __future__ import annotations

from temporalio import activity

from domain.courses import CourseWithdrawn, VersionDecided


@activity.defn(name="courses.mark_under_review")
async def mark_under_review(version_id: int) -> None: ...


@activity.defn(name="courses.record_decision")
async def record_decision(decided: VersionDecided) -> None: ...


@activity.defn(name="courses.withdraw")
async def withdraw(withdrawn: CourseWithdrawn) -> None: ...
