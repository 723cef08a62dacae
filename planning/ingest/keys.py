"""Finding keys that a file repeats, across all of its chunks, without a hash table of strings.

A transaction id may appear only once per file, but a file arrives a chunk at a time and a
repeat can be millions of rows after the first. Each chunk's ids are hashed to 64 bits on the
reading thread as they pass (numpy over Arrow's buffers: no Python object per id); at the end
one sort of those integers shows whether any two ids may be equal. Only then are the ids
themselves compared, so a file without repeats costs one integer sort, and a hash collision
can never be reported as a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

_PRIME = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime
_LENGTH_MIX = np.uint64(0x9E3779B97F4A7C15)


def _powers(count: int) -> np.ndarray:
    powers = np.empty(count, dtype=np.uint64)
    powers[0] = 1
    with np.errstate(over="ignore"):
        for i in range(1, count):  # a few dozen, once per longer key
            powers[i] = powers[i - 1] * _PRIME
    return powers


_POWERS = _powers(256)


def hash_strings(strings: pa.Array) -> np.ndarray:
    """A 64-bit polynomial hash of each (non-null) string of ``strings``."""
    strings = strings.cast(pa.large_binary())
    starts = np.frombuffer(
        strings.buffers()[1], dtype=np.int64, count=len(strings) + 1, offset=8 * strings.offset
    )
    data = np.frombuffer(strings.buffers()[2] or b"", dtype=np.uint8)[starts[0] : starts[-1]]
    starts = starts - starts[0]
    lengths = np.diff(starts)
    global _POWERS
    if lengths.size and lengths.max() > len(_POWERS):
        _POWERS = _powers(int(lengths.max()))
    position = np.arange(len(data)) - np.repeat(starts[:-1], lengths)
    with np.errstate(over="ignore"):
        terms = data.astype(np.uint64) * _POWERS[position]
        hashes = (
            np.add.reduceat(terms, np.minimum(starts[:-1], max(len(data) - 1, 0)))
            if len(data)
            else np.zeros(len(strings), dtype=np.uint64)
        )
        hashes[lengths == 0] = 0
        return hashes ^ (lengths.astype(np.uint64) * _LENGTH_MIX)


@dataclass
class KeyLog:
    """The keys of a file seen so far: their hashes and row numbers, plus the keys themselves.

    The keys are kept (in Arrow, a few bytes each) only to confirm a repeat the hashes suggest.
    """

    hashes: list[np.ndarray] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    keys: list[pa.Array] = field(default_factory=list)

    def add(self, keys: pa.Array, rows: np.ndarray) -> None:
        """Log the non-null ``keys`` of a chunk and their ``rows`` (same length)."""
        self.keys.append(keys)
        self.hashes.append(hash_strings(keys))
        self.rows.append(rows)

    def repeats(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose key an earlier row already has, and that earlier row, in file order.

        The log is emptied (its memory freed) by the call.
        """
        hashes, rows, keys = self.hashes, self.rows, self.keys
        self.hashes, self.rows, self.keys = [], [], []
        empty = np.empty(0, dtype="int64")
        if not hashes:
            return empty, empty
        ordered = np.sort(np.concatenate(hashes))
        if not (ordered[1:] == ordered[:-1]).any():
            return empty, empty  # all hashes differ, so all keys differ
        strings = pa.chunked_array(keys).cast(pa.large_string()).combine_chunks()
        codes, _uniques = pd.factorize(pd.Series(pd.arrays.ArrowStringArray(strings)))
        rows_all = np.concatenate(rows)
        first = np.empty(codes.max() + 1, dtype="int64")
        first[codes[::-1]] = rows_all[::-1]  # the last write wins: each key's first row
        repeat = np.flatnonzero(first[codes] != rows_all)
        return rows_all[repeat], first[codes[repeat]]
