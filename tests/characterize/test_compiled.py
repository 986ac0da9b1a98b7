"""Loops built ahead of time: numba's results, served only while built from the present sources, and a
`dse simulate` process that never starts numba."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from characterize import _integer_csv, compiled, integer_csv
from characterize.generators import multiplier
from characterize.timing import _kernel, kernel
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.delays import annotate_arc_delays, annotate_delays, default_external_load
from characterize.timing.kernel import KernelCircuit, run_transitions

built = pytest.mark.skipif(not compiled.is_built("run_transitions"),
                           reason="loops not built ahead of time (`python -m characterize.build_loops`, run by make)")


@pytest.fixture
def fresh_build_lookup():
    """Forget which build was found, before and after the test."""
    compiled._build.cache_clear()
    yield
    compiled._build.cache_clear()


@built
@pytest.mark.parametrize("per_arc", [False, True], ids=["gate delays", "arc delays"])
@pytest.mark.parametrize("record", [False, True], ids=["counts", "log"])
def test_built_kernel_gives_the_jit_kernels_run(monkeypatch, per_arc, record):
    netlist = multiplier(4, True, "booth")
    timed = (annotate_arc_delays(calculate_delays(netlist, 40e-12, default_external_load(netlist.library)))
             if per_arc else annotate_delays(netlist))
    circuit = KernelCircuit.from_timed(timed)
    rng = np.random.default_rng(7)
    vectors = rng.integers(0, 2, (60, len(timed.input_nets))).astype(np.uint8)
    first, second = rng.integers(0, 60, 400), rng.integers(0, 60, 400)
    second[::2] = np.roll(first, -1)[::2]
    weights = rng.random((2, timed.net_count))

    def run():
        state = circuit.initial_state()
        circuit.settle(state, vectors[0])
        result = run_transitions(circuit, state, vectors, first, second, multiplicity=rng.integers(1, 3, 400),
                                 rise_weight=weights[0], fall_weight=weights[1], per_transition=True, record=record)
        return result, state

    calls = []
    built_loop = kernel._run_transitions
    monkeypatch.setattr(kernel, "_run_transitions", lambda *args: calls.append(args) or built_loop(*args))
    rng = np.random.default_rng(8)
    built_run, built_state = run()
    signature = json.loads(compiled.RECORD.read_text())["loops"]["run_transitions"]
    assert calls and all(compiled._matches(args, signature) for args in calls)  # the built loop ran
    monkeypatch.setattr(kernel, "_run_transitions", _kernel.run_transitions)
    monkeypatch.setattr(kernel, "_settle_state", _kernel.settle_state)
    rng = np.random.default_rng(8)
    jit_run, jit_state = run()
    assert built_run.events == jit_run.events > 0
    for field in ("toggles", "settled_changes", "last_output_event_steps", "last_event_steps", "weighted_toggles",
                  "toggles_per_transition"):
        np.testing.assert_array_equal(getattr(built_run, field), getattr(jit_run, field), err_msg=field)
    if record:
        np.testing.assert_array_equal(built_run.log, jit_run.log)
    np.testing.assert_array_equal(built_state.values, jit_state.values)
    np.testing.assert_array_equal(built_state.gate_index, jit_state.gate_index)


@built
def test_built_reader_and_ordering_give_the_jit_ones(tmp_path):
    rng = np.random.default_rng(2)
    rows = rng.integers(-10**12, 10**12, (500, 3))
    path = tmp_path / "v.csv"
    path.write_text("a, b ,c\n" + "".join(f"{a},{b} , {c}\n" for a, b, c in rows) + "\n")
    names, values = integer_csv.read_integer_csv(path)
    assert names == ["a", "b", "c"]
    np.testing.assert_array_equal(values, rows)
    data = np.fromfile(path, dtype=np.uint8)
    start = int(np.argmax(data == ord("\n"))) + 1
    jit_values, ok = _integer_csv.parse_integer_rows(data, start, 3)
    assert ok
    np.testing.assert_array_equal(values, jit_values)
    first, second = rng.integers(0, 40, 300), rng.integers(0, 40, 300)
    np.testing.assert_array_equal(kernel.chain_order(first, second, 40), _kernel.chain_order(first, second, 40))


@built
def test_argument_types_the_build_lacks_fall_back_to_the_jit_loop():
    rng = np.random.default_rng(4)
    first, second = rng.integers(0, 30, 200).astype(np.int32), rng.integers(0, 30, 200).astype(np.int32)
    assert not compiled._matches((first, second, 30), json.loads(compiled.RECORD.read_text())["loops"]["chain_order"])
    order = kernel.chain_order(first, second, 30)  # the build has int64 orderings only
    np.testing.assert_array_equal(order, _kernel.chain_order(first.astype(np.int64), second.astype(np.int64), 30))


@built
def test_a_build_from_other_sources_or_another_numpy_is_not_used(tmp_path, monkeypatch, fresh_build_lookup):
    record = json.loads(compiled.RECORD.read_text())
    stale = tmp_path / "record.json"
    monkeypatch.setattr(compiled, "RECORD", stale)
    for changed in ({"sources": {name: "0" * 64 for name in record["sources"]}}, {"numpy": "1.0"}):
        stale.write_text(json.dumps({**record, **changed}))
        compiled._build.cache_clear()
        assert not compiled.is_built("run_transitions")
    served = compiled.loop("chain_order", lambda: _kernel)
    np.testing.assert_array_equal(served(np.array([0, 1]), np.array([1, 0]), 2), [0, 1])
    assert "just in time" in served.__doc__


def test_without_a_build_the_jit_loops_serve(tmp_path, monkeypatch, fresh_build_lookup):
    monkeypatch.setattr(compiled, "RECORD", tmp_path / "absent.json")
    assert not compiled.is_built("parse_integer_rows")
    served = compiled.loop("parse_integer_rows", lambda: _integer_csv)
    values, ok = served(np.frombuffer(b"1,2\n3,4\n", dtype=np.uint8), 0, 2)
    assert ok
    np.testing.assert_array_equal(values, [[1, 2], [3, 4]])


@built
def test_dse_simulate_runs_without_numba(tmp_path):
    netlist = tmp_path / "m.v"
    vectors = tmp_path / "v.csv"
    rng = np.random.default_rng(1)
    vectors.write_text("a,w\n" + "".join(f"{a},-3\n" for a in rng.integers(-8, 8, 3000)))
    code = (
        "import sys\nfrom dse.cli import main\n"
        f"assert main(['netlist', '--bits', '4', '--arch', 'booth', '-o', {str(netlist)!r}]) == 0\n"
        f"assert main(['simulate', {str(netlist)!r}, '--inputs', {str(vectors)!r},"
        f" '--toggles', {str(tmp_path / 't.csv')!r}]) == 0\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
    assert (tmp_path / "t.csv").read_text().count("\n") > 10


@built
def test_a_short_run_left_to_choose_takes_one_thread_of_the_built_loop():
    code = ("import sys\nfrom characterize.timing.kernel import THREADED_MIN_WORK, automatic_threads, available_threads\n"
            "print(automatic_threads(THREADED_MIN_WORK - 1), automatic_threads(THREADED_MIN_WORK) == available_threads())\n"
            "import numba\nprint(automatic_threads(1) == available_threads())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True", "True"]
