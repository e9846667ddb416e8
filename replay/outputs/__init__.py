"""Outputs: what a position of a run becomes (snapshots, golden files, exports)."""
