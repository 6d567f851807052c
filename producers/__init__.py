"""Producers: put courts', agencies' and republishers' acts on the ledger."""

from producers.publisher import DeliveryError, DeliveryStats, Publisher
from producers.routing import topic_for

__all__ = ["DeliveryError", "DeliveryStats", "Publisher", "topic_for"]
