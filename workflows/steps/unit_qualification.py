# mypy: disable-error-code="empty-body"
"""activities/unit_qualification.py: UnitQualificationActivities."""

from __future__ import annotations

from temporalio import activity

from domain.unit_qualification import QualificationDecided, QualificationInput


@activity.defn(name="unit_qualification.record")
async def record(application: QualificationInput) -> int: ...


@activity.defn(name="unit_qualification.decide")
async def decide(decided: QualificationDecided) -> None: ...
