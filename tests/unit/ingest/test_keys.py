"""Repeated keys across the chunks of a file are found exactly, from 64-bit hashes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from planning.ingest import keys
from planning.ingest.keys import KeyLog, hash_strings


def test_hashes_tell_apart_reordered_empty_and_long_keys():
    values = ["ab", "ba", "", "a", "x" * 300, "x" * 299 + "y", "ß€"]
    hashes = hash_strings(pa.array(values))
    assert len(set(hashes.tolist())) == len(values)


def test_a_slice_hashes_like_the_same_keys_on_their_own():
    array = pa.array([f"T{i:05d}" for i in range(50)])
    assert (
        hash_strings(array.slice(7, 20)) == hash_strings(pa.array(array.slice(7, 20).to_pylist()))
    ).all()


def test_repeats_across_chunks_name_the_row_and_the_first_row():
    log = KeyLog()
    log.add(pa.array(["A", "B", "C"]), np.array([2, 3, 4]))
    log.add(pa.array(["D", "A", "A"]), np.array([5, 6, 9]))
    rows, firsts = log.repeats()
    assert rows.tolist() == [6, 9] and firsts.tolist() == [2, 2]


def test_a_file_without_repeats_reports_none_and_the_log_is_emptied():
    log = KeyLog()
    for start in range(0, 3000, 1000):
        log.add(
            pa.array([f"K{i}" for i in range(start, start + 1000)]), np.arange(start, start + 1000)
        )
    rows, _ = log.repeats()
    assert rows.size == 0 and log.keys == [] and log.hashes == []


def test_equal_hashes_of_different_keys_are_not_reported(monkeypatch):
    monkeypatch.setattr(keys, "hash_strings", lambda strings: np.zeros(len(strings), "uint64"))
    log = KeyLog()
    log.add(pa.array(["A", "B"]), np.array([2, 3]))
    log.add(pa.array(["C", "B"]), np.array([4, 5]))
    rows, firsts = log.repeats()
    assert rows.tolist() == [5] and firsts.tolist() == [3]


@pytest.mark.parametrize("count", [0, 1])
def test_tiny_logs(count):
    log = KeyLog()
    if count:
        log.add(pa.array(["only"]), np.array([2]))
    assert log.repeats()[0].size == 0
