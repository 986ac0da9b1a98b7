"""The compiled reader of plain integer CSV files: pandas' reading where it answers, None where it should not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from characterize.generators import multiplier
from characterize.integer_csv import read_integer_csv
from characterize.timing.vectors import read_vectors

PLAIN = [
    "a,w\n1,2\n-3,4\n",
    "a,w\n1,2\n-3,4",  # no newline at the end
    "a, w\r\n 1, 2\r\n-3 ,+4\r\n",  # spaces around cells, CRLF
    "a,w\n1,2\n\n-3,4\n\n",  # blank lines
    "w,a\n-128,127\n127,-128\n0,0\n",
]
OTHER = [
    "a,w\n0x10,2\n1,2\n",  # hex
    'a,w\n"1",2\n1,2\n',  # quotes
    "a,w\n1,2,3\n1,2\n",  # a row too long
    "a,w\n1\n1,2\n",  # a row too short
    "a,w\n1,\n1,2\n",  # a blank cell
    "a,w\n1.5,2\n1,2\n",  # not an integer
    "a,w\n1234567890123456789,2\n1,2\n",  # 19 digits
    "a,w\n- 1,2\n1,2\n",  # a sign alone
]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_files_read_as_pandas_reads_them(text, tmp_path):
    path = tmp_path / "v.csv"
    path.write_bytes(text.encode())
    names, values = read_integer_csv(path)
    frame = pd.read_csv(path, skipinitialspace=True)
    assert names == [str(c).strip() for c in frame.columns]
    np.testing.assert_array_equal(values, frame.to_numpy(dtype=np.int64))


@pytest.mark.parametrize("text", OTHER)
def test_other_files_are_left_to_the_general_reader(text, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text(text)
    assert read_integer_csv(path) is None


def test_a_missing_file_is_left_to_the_general_reader(tmp_path):
    assert read_integer_csv(tmp_path / "absent.csv") is None


def test_vectors_read_the_same_through_either_reader(tmp_path):
    """A plain file (compiled reader) and the same values in hex (pandas and row by row) give equal columns."""
    ports = multiplier(4, True, "array").inputs
    rng = np.random.default_rng(0)
    a, w = rng.integers(-8, 8, 50), rng.integers(-8, 16, 50)
    plain, hexadecimal = tmp_path / "plain.csv", tmp_path / "hex.csv"
    plain.write_text("a,w\n" + "".join(f"{x},{y}\n" for x, y in zip(a, w)))
    hexadecimal.write_text("a,w\n" + "".join(f"{hex(x)},{y}\n" for x, y in zip(a, w)))
    assert read_integer_csv(plain) is not None and read_integer_csv(hexadecimal) is None
    fast, general = read_vectors(plain, ports), read_vectors(hexadecimal, ports)
    assert fast.keys() == general.keys()
    for name in fast:
        np.testing.assert_array_equal(fast[name], general[name])
        assert fast[name].dtype == general[name].dtype == np.int64
