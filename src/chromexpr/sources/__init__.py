"""Data sources that fill ``resources/``: demo (simulated reads), remc, local, processed."""

from chromexpr.sources.demo import MARKS, read_demo_tables, simulate_cell, simulate_reads

__all__ = ["MARKS", "read_demo_tables", "simulate_cell", "simulate_reads"]
