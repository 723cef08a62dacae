"""One colour per segment, the same on every page.

A segment keeps its colour wherever it appears — the Segments table, the forecast bands, the
allocation curves — whatever other segments share the chart. Well-known segment names (the
size tiers, value tiers and lifecycle stages) have fixed colours chosen to read as an ordered
scale; any other name gets a colour from a stable hash of its text, so it never changes
between runs or pages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final

# Colour-blind-safe qualitative palette (Okabe–Ito, darkened for contrast on white), then a
# few more distinct hues for lenses with many segments.
PALETTE: Final = (
    "#1f5f9e",
    "#e07b00",
    "#2a9d8f",
    "#c8553d",
    "#7b5ea7",
    "#8c6d31",
    "#d36f9f",
    "#4d7d2b",
    "#5b8db8",
    "#b0902c",
    "#3c8d9a",
    "#9c4f6e",
)
UNASSIGNED_COLOR: Final = "#9aa5b1"
TOTAL_COLOR: Final = "#22303c"

FIXED: Final[dict[str, str]] = {
    # size tiers, small to large
    "Small": "#5b8db8",
    "Mid-market": "#2a9d8f",
    "Large": "#e07b00",
    "Key account": "#7b5ea7",
    # value tiers, best to worst
    "Platinum": "#7b5ea7",
    "Gold": "#e0a100",
    "Silver": "#5b8db8",
    "Bronze": "#8c6d31",
    "Loss-making": "#c8553d",
    # lifecycle stages
    "New": "#2a9d8f",
    "Active": "#1f5f9e",
    "At risk": "#e07b00",
    "Lapsed": "#c8553d",
    "Won back": "#7b5ea7",
    "Unassigned": UNASSIGNED_COLOR,
    "Total": TOTAL_COLOR,
    "Company": TOTAL_COLOR,
    # RFM groups (planning.segments.lenses.RFM_GROUPS), best to worst
    "Champions": "#7b5ea7",
    "Loyal": "#1f5f9e",
    "Promising": "#2a9d8f",
    "Needs attention": "#e0a100",
    "Can't lose": "#d36f9f",
    "Slipping": "#e07b00",
    "Hibernating": "#8c6d31",
    "Lost": "#c8553d",
    # outside any real segment: customers not yet won, never bought, matching no rule
    "Not yet a customer": "#c4cbd3",
    "No purchases": UNASSIGNED_COLOR,
    "Other": UNASSIGNED_COLOR,
}


def segment_color(segment: str) -> str:
    """The colour of ``segment`` on every chart."""
    if segment in FIXED:
        return FIXED[segment]
    digest = hashlib.sha1(str(segment).encode("utf-8")).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def segment_colors(segments: Iterable[str]) -> dict[str, str]:
    """``{segment: colour}`` for a chart's ``color_discrete_map`` or per-trace colours."""
    return {s: segment_color(s) for s in segments}
