"""Regenerate src/cells/data/sky130_fd_sc_hd__tt_025C_1v80_subset.lib from the full sky130 library.

Usage: python tools/make_default_library.py ../shared/liberty/sky130hd_tt.lib.gz

Copies the library header and the cells below verbatim (tables intact) and
adds each cell's static-CMOS transistor count as the user attribute
`transistors` (textbook counts: the complementary pull-up/pull-down networks
plus the inverters the function needs).
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

PREFIX = "sky130_fd_sc_hd__"
# cell -> static-CMOS transistor count
CELLS = {
    "inv_1": 2, "buf_1": 4, "nand2_1": 4, "nand3_1": 6, "nor2_1": 4, "nor3_1": 6,
    "and2_1": 6, "and3_1": 8, "or2_1": 6, "or3_1": 8, "xor2_1": 12, "xnor2_1": 12,
    "a21oi_1": 6, "o21ai_1": 6, "a22oi_1": 8, "o22ai_1": 8, "a21o_1": 8, "o21a_1": 8,
    "nand2b_1": 6, "nor2b_1": 6, "and2b_1": 8, "or2b_1": 8,
    "mux2_1": 12, "mux2i_1": 10, "maj3_1": 12, "ha_1": 18, "fa_1": 28, "conb_1": 4,
    "dfxtp_1": 24, "dfrtp_1": 28,
}
OUT = Path(__file__).resolve().parents[1] / "src/cells/data/sky130_fd_sc_hd__tt_025C_1v80_subset.lib"
NOTICE = """/*
 * Subset of the SkyWater SKY130 high-density standard-cell library
 * (sky130_fd_sc_hd), typical corner tt_025C_1v80, as distributed with the
 * examples of OpenSTA (The-OpenROAD-Project/OpenSTA, examples/sky130hd_tt.lib).
 * Cells are copied verbatim; the user attribute `transistors` (static-CMOS
 * transistor count) is added to each. Regenerate with tools/make_default_library.py.
 *
 * Copyright 2020 The SkyWater PDK Authors
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at https://www.apache.org/licenses/LICENSE-2.0
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * SPDX-License-Identifier: Apache-2.0
 */
"""


def cell_block(text: str, name: str) -> str:
    start = re.search(r'^\s*cell \("' + re.escape(name) + r'"\) \{', text, re.MULTILINE)
    if start is None:
        raise SystemExit(f"cell {name} not found")
    depth, i = 0, text.index("{", start.start())
    while True:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
        if depth == 0:
            return text[start.start() : i] + "\n"


def main(source: str) -> None:
    text = gzip.open(source, "rt").read()
    header = text[: re.search(r"^\s*cell \(", text, re.MULTILINE).start()]
    header = header.replace("    define(def_sim_opt", "    define(transistors,cell,integer);\n    define(def_sim_opt", 1)
    blocks = []
    for short, transistors in CELLS.items():
        block = cell_block(text, PREFIX + short)
        block = block.replace(" {\n", f" {{\n        transistors : {transistors};\n", 1)
        blocks.append(block)
    OUT.write_text(NOTICE + header + "\n".join(blocks) + "}\n")
    print(f"wrote {OUT} ({len(blocks)} cells)")


if __name__ == "__main__":
    main(sys.argv[1])
