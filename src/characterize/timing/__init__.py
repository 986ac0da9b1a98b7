"""Delays, the event-driven timing simulator, static timing, power and the timed Verilog Icarus replays."""
