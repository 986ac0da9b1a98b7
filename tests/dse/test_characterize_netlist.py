"""`dse characterize --netlist`: a user's own combinational netlist swept per weight value."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from characterize.errors import NetlistError
from characterize.netlist.verilog import read_verilog
from characterize.passes.embed import embed_constant
from characterize.passes.netlist_design import check_embedding, open_design
from dse.cli import main
from tests.conftest import require_tool


@pytest.fixture(scope="module")
def booth4(tmp_path_factory):
    path = tmp_path_factory.mktemp("design") / "booth4.v"
    assert main(["netlist", "--bits", "4", "--arch", "booth", "-o", str(path)]) == 0
    return path


def characterize(tmp_path, *options):
    out = tmp_path / f"lut{len(list(tmp_path.glob('lut*.csv')))}.csv"
    argv = ["characterize", *options, "--vectors", "300", "--weights=-3:2", "--cache", str(tmp_path / "cache"), "-o", str(out)]
    assert main(argv) == 0
    return pd.read_csv(out), json.loads(out.with_suffix(".json").read_text())


def test_stationary_netlist_equals_the_generated_multiplier(booth4, tmp_path):
    """The generator's own netlist, read back as a user design, gives the generator's LUT number for number."""
    mine, meta = characterize(tmp_path, "--netlist", str(booth4), "--mode", "stationary")
    built, _ = characterize(tmp_path, "--bits", "4", "--arch", "booth", "--mode", "stationary")
    assert (mine["arch"] == "netlist").all() and (built["arch"] == "booth").all()
    columns = ["weight", "cells", "area_um2", "critical_delay_ps", "max_sensitized_delay_ps", "energy_per_op_fJ",
               "toggles_per_op", "glitches_per_op"]
    pd.testing.assert_frame_equal(mine[columns], built[columns])
    assert meta["generator"]["netlist"] == str(booth4.resolve()) and meta["generator"]["weight_port"] == "w"


def test_embedded_netlist_is_checked_and_smaller(booth4, tmp_path):
    lut, meta = characterize(tmp_path, "--netlist", str(booth4), "--mode", "embedded")
    rows = lut[lut["weight"].notna()]
    assert (rows["area_um2"] < lut["area_um2"].iloc[0]).all()
    assert rows.loc[rows["weight"] == 0, "energy_per_op_fJ"].item() == 0.0
    assert meta["generator"]["equivalence"] == "exhaustive over 4 input bits"


def test_embedding_check_catches_a_wrong_design(booth4, library):
    reference = read_verilog(booth4, library)
    check_embedding(reference, embed_constant(reference, "w", 3), "w", 3)
    with pytest.raises(NetlistError, match=r"output y differs from .* with w = 3 on \d+ of 16 vectors \(exhaustive"):
        check_embedding(reference, embed_constant(reference, "w", 2), "w", 3)


def test_wide_inputs_are_checked_on_a_stated_sample(tmp_path, library):
    path = tmp_path / "mac.v"
    assert main(["netlist", "--bits", "4", "--mac", "16", "-o", str(path)]) == 0
    design, netlist = open_design(path, library, "w", "a")
    assert design.other_input_bits == 20
    proof = "+ yosys SAT proof" if shutil.which("yosys") else "(yosys not found)"
    assert design.provenance()["equivalence"] == f"4096 random vectors (seed 0) over 20 input bits {proof}"
    check_embedding(netlist, embed_constant(netlist, "w", -5), "w", -5)


def test_wide_user_netlist_is_proven_per_weight_and_the_lut_says_so(tmp_path):
    require_tool("yosys")
    path = tmp_path / "mac.v"
    assert main(["netlist", "--bits", "4", "--mac", "16", "-o", str(path)]) == 0
    out = tmp_path / "lut.csv"
    assert main(["characterize", "--netlist", str(path), "--mode", "embedded", "--weights=-5,3", "--vectors", "50",
                 "--cache", str(tmp_path / "cache"), "-o", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["generator"]["equivalence"] == "4096 random vectors (seed 0) over 20 input bits + yosys SAT proof"
    assert len(pd.read_csv(out)) == 3


@pytest.mark.parametrize(
    "options,message",
    [
        (["--weight-port", "b"], "weight port 'b' is not an input of module mul4s_booth_ripple (inputs: a, w)"),
        (["--activation-port", "w"], "the weight and activation ports must differ"),
        (["--bits", "3"], "weight port w is 4 bits wide but --bits is 3"),
    ],
)
def test_bad_ports_give_one_line_and_write_nothing(booth4, tmp_path, capsys, options, message):
    out = tmp_path / "lut.csv"
    argv = ["characterize", "--netlist", str(booth4), "--mode", "stationary", *options, "-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and str(booth4) in err
    assert not out.exists()
