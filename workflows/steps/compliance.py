# mypy: disable-error-code="empty-body"
"""activities/compliance.py: ComplianceActivities (who is behind, reminders, the units' summaries)."""

from __future__ import annotations

from temporalio import activity

from domain.compliance import RemindUnit, RoundPlan, UnitReminded, UnitsPage, UnitsPageRequest


@activity.defn(name="compliance.plan_round")
async def plan_round(started_at: str) -> RoundPlan: ...


@activity.defn(name="compliance.units_page")
async def units_page(req: UnitsPageRequest) -> UnitsPage: ...


@activity.defn(name="compliance.remind_unit")
async def remind_unit(req: RemindUnit) -> UnitReminded: ...
