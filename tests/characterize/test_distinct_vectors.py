"""Distinct input vectors by counting or sorting: the same answer as numpy's unique, for any value range."""

from __future__ import annotations

import numpy as np
import pytest

from characterize.timing.sim import distinct_vectors, unique_keys


@pytest.mark.parametrize("span", [10, 1 << 40], ids=["counted", "sorted"])
def test_unique_keys_equals_numpy_unique(span):
    keys = np.random.default_rng(1).integers(0, span, 5000)
    expected = np.unique(keys, return_inverse=True, return_counts=True)
    for got, want in zip(unique_keys(keys, span), expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("low, high", [(-8, 8), (-(1 << 61), 1 << 61)], ids=["narrow", "wide enough to renumber"])
def test_distinct_vectors_are_the_distinct_rows(low, high):
    rng = np.random.default_rng(2)
    columns = {name: rng.choice(rng.integers(low, high, 7), 3000) for name in ("a", "b", "c")}
    distinct, ids = distinct_vectors(columns)
    rows = np.stack([columns[n] for n in columns], axis=1)
    assert len(ids) == 3000 and len(np.unique(ids)) == len(distinct["a"]) == len(np.unique(rows, axis=0))
    for name in columns:
        np.testing.assert_array_equal(distinct[name][ids], columns[name])


def test_python_int_columns_compare_by_value():
    big = [1 << 70, 3, 1 << 70, 3]
    distinct, ids = distinct_vectors({"x": np.array(big, dtype=object), "y": np.array([1, 2, 1, 2])})
    assert ids.tolist() == [0, 1, 0, 1] and distinct["x"].tolist() == [1 << 70, 3]
