"""Producers: put court, agency and republisher acts on the ledger, nothing lost or doubled."""

from producers.publisher import DeliveryError, DeliveryStats, Publisher
from producers.routing import topic_for

__all__ = ["DeliveryError", "DeliveryStats", "Publisher", "topic_for"]
