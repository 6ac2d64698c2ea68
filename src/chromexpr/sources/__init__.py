"""Data sources that fill ``resources/`` and datasets: demo (simulated reads), remc, local, processed."""

from chromexpr.sources.demo import read_demo_tables, simulate_cell, simulate_reads

__all__ = ["read_demo_tables", "simulate_cell", "simulate_reads"]
