"""The embedded services of one machine: a KRaft Kafka broker and a PostgreSQL server.

`up(settings)` brings both up (or reuses running ones, or uses the external ones named
by KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL), `down(settings)` stops what `up` started,
`ensure_topics(settings)` creates the ledger's topics.
"""

from shixin.stack.errors import StackError
from shixin.stack.manager import ServiceStatus, down, status, up
from shixin.stack.topics import TopicMismatchError, ensure_topics

__all__ = [
    "ServiceStatus",
    "StackError",
    "TopicMismatchError",
    "down",
    "ensure_topics",
    "status",
    "up",
]
