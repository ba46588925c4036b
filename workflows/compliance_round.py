"""ComplianceRoundWorkflow: one reminder round of the yearly hours requirement (单位管理员).

Started by the Temporal Schedule `compliance-rounds` (created by the worker from the compliance_*
settings: N days before the deadline, default 30 and 7 days before 30 November), or by hand
(`compliance-round-{round date}`). It visits every unit with trainees, in credit-code order: each
trainee still behind gets a notice and an e-mail, the unit's administrators a summary. The round
key (the round's date) makes a rerun safe: nobody is reminded twice in one round
(activities/compliance.py). Continues as new every UNITS_PER_RUN units, carrying its cursor.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from domain.compliance import (
        ComplianceRoundInput,
        ComplianceRoundResult,
        RemindUnit,
        UnitsPageRequest,
        round_dates,
    )
    from workflows.common import BUSINESS_KEY, run_step, set_status
    from workflows.steps import compliance

SCHEDULE_ID = "compliance-rounds"
UNITS_PAGE = 100
UNITS_PER_RUN = 500  # a few thousand events a run; Hunan's tens of thousands of units take several runs
UNIT_TIMEOUT = timedelta(minutes=10)  # one unit: its reminders and the summary, mail included
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn
class ComplianceRoundWorkflow:
    def __init__(self) -> None:
        self.progress = ComplianceRoundInput()

    @workflow.query
    def status(self) -> ComplianceRoundInput:
        return self.progress

    @workflow.run
    async def run(self, inp: ComplianceRoundInput) -> ComplianceRoundResult:
        if not inp.round_key:
            started = workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
            plan = await run_step(compliance.plan_round, started.isoformat())
            inp.round_key, inp.year, inp.deadline = plan.round_key, plan.year, plan.deadline
        self.progress = inp
        workflow.upsert_search_attributes([BUSINESS_KEY.value_set(f"compliance-{inp.round_key}")])
        set_status("running")
        visited = 0
        while True:
            page = await run_step(
                compliance.units_page, UnitsPageRequest(inp.after_credit_code, UNITS_PAGE, inp.only_credit_codes)
            )
            for code in page.credit_codes:
                done = await run_step(
                    compliance.remind_unit,
                    RemindUnit(inp.round_key, inp.year, inp.deadline, code),
                    timeout=UNIT_TIMEOUT,
                )
                inp.units += 1
                inp.reminded += done.reminded
                inp.already_reminded += done.already_reminded
                inp.after_credit_code = code
                visited += 1
            workflow.set_current_details(
                f"第 {inp.round_key} 轮：已检查 {inp.units} 个单位，提醒 {inp.reminded} 人，"
                f"此前已提醒 {inp.already_reminded} 人"
            )
            if len(page.credit_codes) < UNITS_PAGE:
                break
            if visited >= UNITS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(inp)
        set_status("done")
        return ComplianceRoundResult(inp.round_key, inp.year, inp.units, inp.reminded, inp.already_reminded)


def round_schedule(
    *, deadline: str, days_before: list[int], hour: int, task_queue: str
) -> Schedule:
    """The yearly rounds: a calendar entry per configured day before the deadline (Asia/Shanghai)."""
    # the round dates of a leap year hold every month-day a round can fall on
    dates = round_dates(2028, deadline, days_before)
    calendars = [
        ScheduleCalendarSpec(
            month=[ScheduleRange(d.month)],
            day_of_month=[ScheduleRange(d.day)],
            hour=[ScheduleRange(hour)],
            minute=[ScheduleRange(0)],
            second=[ScheduleRange(0)],
            comment=f"学时达标提醒 {d.month}月{d.day}日（截止日 {deadline}）",
        )
        for d in dates
    ]
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ComplianceRoundWorkflow.run,
            ComplianceRoundInput(),
            id="compliance-round",
            task_queue=task_queue,
            static_summary="学时达标提醒轮次：提醒未达标学员，向单位管理员发送汇总",
        ),
        spec=ScheduleSpec(calendars=calendars, time_zone_name="Asia/Shanghai"),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_schedule(client: Client, schedule: Schedule) -> None:
    """Creates the schedule, or brings an existing one to the configured dates (worker start)."""
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(SCHEDULE_ID).update(replace)
