"""Acting users for tests: every write in planning/ takes one (see planning.access)."""

from __future__ import annotations

from planning.access import Actor

ADMIN = Actor("tester", "admin")
PLANNER = Actor("pat", "planner")
VIEWER = Actor("vic", "viewer")
