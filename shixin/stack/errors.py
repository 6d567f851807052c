"""Errors of the embedded stack."""

from __future__ import annotations


class StackError(RuntimeError):
    """A service cannot be started, reached or stopped; the message says what to do."""
