"""Fixtures of the API tests."""

from __future__ import annotations

import httpx
import pytest

from tests.support import enter_school, login_trainee, make_trainee
from tests.support.study import ensure_test_clip


@pytest.fixture
async def trainee_client(client: httpx.AsyncClient, sessionmaker, settings):
    """A trainee signed in by the QR flow, inside 湖南农业大学, with the study test clip in place;
    the trainee is `client.user`."""
    ensure_test_clip(settings)
    user = await make_trainee(sessionmaker, "学习学员")
    await login_trainee(client, user)
    await enter_school(client)
    client.user = user  # type: ignore[attr-defined]
    return client
