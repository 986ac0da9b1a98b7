"""Stratified weight samples: anchors always in, even coverage, reproducible, recorded in the LUT."""

from __future__ import annotations

import numpy as np
import pytest

from characterize.errors import SimulationError
from characterize.lut.sampling import anchor_weights, sample_weights
from characterize.lut.table import Lut, LutError
from dse.cli import main

SIGNED_16 = range(-(1 << 15), 1 << 15)


def test_anchors_of_signed_and_unsigned_16_bit():
    signed = anchor_weights(SIGNED_16)
    assert {0, 1, -1, -32768, 32767, 16384, -16384, 2, -2} <= signed and len(signed) == 33
    unsigned = anchor_weights(range(1 << 16))
    assert unsigned == {0, 65535} | {1 << k for k in range(16)}


def test_sample_keeps_anchors_and_covers_the_range_evenly():
    sample = sample_weights(SIGNED_16, 256, seed=0)
    assert len(sample) == 256 and list(sample) == sorted(set(sample))
    assert anchor_weights(SIGNED_16) <= set(sample)
    drawn = sorted(set(sample) - anchor_weights(SIGNED_16))
    counts, _ = np.histogram(drawn, bins=8, range=(-32768, 32768))
    assert len(drawn) == 223 and counts.min() >= 26 and counts.max() <= 30  # one per stratum: ~28 per eighth
    assert sample == sample_weights(SIGNED_16, 256, seed=0) != sample_weights(SIGNED_16, 256, seed=1)


def test_too_small_or_too_large_a_sample():
    with pytest.raises(SimulationError, match="sample:10: at least 33 values"):
        sample_weights(SIGNED_16, 10)
    assert sample_weights(range(-8, 8), 100) == tuple(range(-8, 8))


def test_characterize_a_sample_records_it(tmp_path):
    lut_path = tmp_path / "lut.csv"
    assert main(["characterize", "--bits", "5", "--mode", "stationary", "--weights", "sample:14", "--vectors", "40",
                 "--seed", "5", "--cache", str(tmp_path / "cache"), "-o", str(lut_path)]) == 0
    lut = Lut.load(lut_path)
    expected = sample_weights(range(-16, 16), 14, seed=5)
    assert tuple(lut.weights.index) == expected
    assert lut.meta["weight_sample"] == {"n": 14, "seed": 5, "weights": list(expected)}
    missing = next(w for w in range(-16, 16) if w not in expected)
    with pytest.raises(LutError, match=f"no row for weight {missing}; it holds a sample of 14 weight values"):
        lut.column("energy_per_op_fJ", [missing])
