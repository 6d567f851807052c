"""Processors: faust workers that drive the rules engine over the ledger topics.

The agents hold no rule logic: they decode each ledger event, hand it to
`rules.engine`, keep the per-listing state in changelog-backed tables and publish the
derived events (sanction state, deadlines) the engine returns.
"""
