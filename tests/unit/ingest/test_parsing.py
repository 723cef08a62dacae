"""The fast parsing paths (Arrow kernels) give exactly what the general paths give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.ingest.parsing import clean_text, parse_dates
from planning.ingest.readers import _has_blank_lines

TEXTS = [" Acme ", "", None, "x" * 129, "x" * 128, "nul\x00byte", "  ", "Zoë\t", "ok"]


def test_clean_text_in_arrow_matches_the_general_path():
    fast = clean_text(pd.Series(TEXTS, dtype="str"), 128)
    general = clean_text(pd.Series(TEXTS, dtype=object), 128)
    assert fast.values.tolist() == pytest.approx(general.values.tolist(), nan_ok=True)
    assert (
        fast.bad.tolist()
        == general.bad.tolist()
        == [False, False, False, True, False, True, False, False, False]
    )
    assert str(fast.values.dtype) == "str"


def test_multibyte_text_is_measured_in_characters_not_bytes():
    parsed = clean_text(pd.Series(["é" * 100], dtype="str"), 128)  # 200 bytes, 100 chars
    assert not parsed.bad.iloc[0]


@pytest.mark.parametrize(
    "values",
    [
        ["2024-01-31", "2023-12-01", None],
        ["2024-01-31", " 2024-02-01 ", "2024-02-30", "1850-01-01", "2024-03-01 10:00:00", "x"],
    ],
    ids=["plain", "mixed"],
)
def test_iso_dates_through_arrow_match_pandas(values):
    fast = parse_dates(pd.Series(values, dtype="str"), "ISO8601")
    general = parse_dates(pd.Series(values, dtype=object), "ISO8601")
    assert fast.values.dtype == general.values.dtype == np.dtype("datetime64[s]")
    pd.testing.assert_series_equal(fast.values, general.values)
    assert fast.bad.tolist() == general.bad.tolist()


@pytest.mark.parametrize(
    "data, blank",
    [
        (b"a,b\n1,2\n", False),
        (b"a,b\n\n1,2\n", True),
        (b"a,b\r\n1,2\r\n", False),
        (b"a,b\r\n\r\n1,2\r\n", True),
        (b"a,b\n1,2\n\n", True),
        (b"a,b\n,\n", False),
    ],
    ids=["lf", "lf-blank", "crlf", "crlf-blank", "trailing-blank", "empty-fields"],
)
def test_blank_lines_are_found_in_bytes_and_files(tmp_path, data, blank):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert _has_blank_lines(data) is blank and _has_blank_lines(path) is blank
