"""The upgrade to the study ledger (runner/study_upgrade.py): a running study's credit goes to the
projection, its run is terminated, and the trainee's next 开始学习 continues from that credit; a run
started on the ledger is left alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select
from temporalio.client import WorkflowExecutionStatus

from api.study_service import course_ref, course_with_chapters, rules_from
from db.models.orders import Enrollment
from db.models.study import ChapterProgress
from domain.study import StudyInput
from runner.study_upgrade import upgrade
from tests.api.test_study import chapter_ids, post_json
from tests.api.test_study_ledger import workflow_credit
from tests.support import eventually
from tests.support.study import enroll, make_test_course
from workflows.study import StudyWorkflow, study_workflow_id


async def started_without_the_ledger_memo(maker, settings, temporal_client, eid: int) -> None:
    """The enrollment's run as the web layer started it before the ledger (no memo)."""
    async with maker() as s:
        enrollment = await s.get(Enrollment, eid)
        assert enrollment is not None
        course = await course_with_chapters(s, enrollment.course_id)
        assert course is not None
    inp = StudyInput(
        eid,
        enrollment.trainee_id,
        enrollment.school_id,
        enrollment.training_year,
        course_ref(course),
        rules_from(settings),
    )
    await temporal_client.start_workflow(
        StudyWorkflow.run, inp, id=study_workflow_id(eid), task_queue=settings.task_queue
    )


async def test_a_running_study_is_carried_over_with_its_credit(
    trainee_client, sessionmaker, settings, temporal_client
) -> None:
    client = trainee_client
    course_id = await make_test_course(sessionmaker, durations=(60,))
    eid = await enroll(sessionmaker, client.user.id, course_id)
    [ch] = await chapter_ids(sessionmaker, course_id)
    await started_without_the_ledger_memo(sessionmaker, settings, temporal_client, eid)
    view = (await post_json(client, f"/study/{eid}/chapters/{ch}/open")).json()
    await asyncio.sleep(2.0)
    await post_json(
        client,
        f"/study/{eid}/heartbeat",
        {"session_id": view["session_id"], "chapter_id": ch, "position": 2.0, "closing": True},
    )
    assert await eventually(lambda: workflow_credit(temporal_client, eid)) == pytest.approx(2.0, abs=0.2)
    async with sessionmaker() as s:  # as if the run held credit the projection never saw
        await s.execute(delete(ChapterProgress).where(ChapterProgress.enrollment_id == eid))
        await s.commit()

    assert await upgrade(temporal_client, sessionmaker) >= 1
    handle = temporal_client.get_workflow_handle(study_workflow_id(eid))
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    async with sessionmaker() as s:
        query = select(ChapterProgress.credited_seconds).where(ChapterProgress.enrollment_id == eid)
        assert await s.scalar(query) == 2

    again = await post_json(client, f"/study/{eid}/chapters/{ch}/open")
    assert again.status_code == 200 and again.json()["position"] == 2.0  # a new run, from the projection
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    await upgrade(temporal_client, sessionmaker)  # run again: the new run is left alone
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
