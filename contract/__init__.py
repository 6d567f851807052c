"""The event contract: what every event of the ledger says, and how it is encoded."""
