"""Replay and audit: rebuild every query table from the log alone, and compare."""
