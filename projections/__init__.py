"""Projections: PostgreSQL query tables built from the ledger, exactly once."""
