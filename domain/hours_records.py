"""Shapes the study process and the hours registry share (workflow payloads: JSON-plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PlatformHours:
    """A completed course: the study workflow asks `hours.push_platform` to record its hours."""

    enrollment_id: int
