"""Acting users for tests: every write in planning/ takes one (see planning.core.access)."""

from __future__ import annotations

from planning.core.access import Actor

ADMIN = Actor("tester", "admin")
PLANNER = Actor("pat", "planner")
VIEWER = Actor("vic", "viewer")
