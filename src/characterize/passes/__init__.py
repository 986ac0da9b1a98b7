"""Netlist -> Netlist passes: weight embedding and simplification, yosys/ABC resynthesis, the designs they give."""
