# mypy: disable-error-code="empty-body"
"""activities/hours.py: HoursActivities."""

from __future__ import annotations

from temporalio import activity

from domain.hours import ApplyReview, DeclarationSubmitted, SubmitDeclaration


@activity.defn(name="hours.submit_declaration")
async def submit_declaration(req: SubmitDeclaration) -> DeclarationSubmitted: ...


@activity.defn(name="hours.apply_review")
async def apply_review(review: ApplyReview) -> None: ...
