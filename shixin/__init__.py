"""The joint-sanction ledger (失信被执行人联合惩戒): settings, CLI, embedded stack."""

__version__ = "0.1.0"
