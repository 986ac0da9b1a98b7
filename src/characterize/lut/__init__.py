"""Lookup tables: the characterization sweep, LUT files, activation sequences, summaries and plots."""
