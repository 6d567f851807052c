"""`committed_offsets` against librdkafka's own mock cluster, whose OffsetFetch
answers with the errors a broker gives while it creates and loads
`__consumer_offsets` (the first group request on a fresh broker).

librdkafka's admin API (`list_consumer_group_offsets`, what `committed_offsets`
used) crashed the process on them: SIGSEGV in `rd_kafka_cgrp_op` on one of
librdkafka's threads (an admin client has no consumer group to send the
coordinator query to), which killed the first processor worker of a fresh
`make demo` now and then. The call runs in a child process, so a crash fails the
test instead of ending pytest.

No broker here: the mock cluster runs inside the child, through the mock API of
the librdkafka that confluent_kafka loaded (rdkafka_mock.h).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from confluent_kafka import KafkaError

CHILD = r"""
import ctypes, json, sys

import confluent_kafka  # loads librdkafka

from processors.checks import committed_offsets
from shixin.settings import Settings

error = int(sys.argv[1])
with open("/proc/self/maps") as maps:
    path = next(
        line.split(None, 5)[5].strip() for line in maps if "librdkafka" in line
    )
lib = ctypes.CDLL(path)
lib.rd_kafka_conf_new.restype = ctypes.c_void_p
lib.rd_kafka_new.restype = ctypes.c_void_p
lib.rd_kafka_new.argtypes = [
    ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
]
lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_topic_create.argtypes = [
    ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int
]

errstr = ctypes.create_string_buffer(512)
# the mock cluster lives in a client of its own (a producer, no bootstrap: its
# notice about that is left out)
conf = lib.rd_kafka_conf_new()
lib.rd_kafka_conf_set(
    ctypes.c_void_p(conf), b"log_level", b"4", errstr, ctypes.c_size_t(len(errstr))
)
owner = lib.rd_kafka_new(0, conf, errstr, len(errstr))
cluster = lib.rd_kafka_mock_cluster_new(owner, 1)
assert cluster, "no mock cluster"
assert lib.rd_kafka_mock_topic_create(cluster, b"t", 2, 1) == 0
OFFSET_FETCH = 9  # RD_KAFKAP_OffsetFetch
# the next two OffsetFetch requests answer `error`, the third is served
lib.rd_kafka_mock_push_request_errors(
    ctypes.c_void_p(cluster),
    ctypes.c_int16(OFFSET_FETCH),
    ctypes.c_size_t(2),
    ctypes.c_int(error),
    ctypes.c_int(error),
)
bootstrap = lib.rd_kafka_mock_cluster_bootstraps(cluster).decode()
settings = Settings(kafka_bootstrap_servers=bootstrap)
found = committed_offsets(settings, "shixin.processors", [("t", 0), ("t", 1)])
print(json.dumps({f"{t}/{p}": offset for (t, p), offset in found.items()}))
"""


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    ],
)
def test_committed_offsets_survive_a_coordinator_being_created(code: int) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, (
        f"exit {child.returncode} (-11 is SIGSEGV): {child.stderr[-3000:]}"
    )
    assert json.loads(child.stdout.splitlines()[-1]) == {"t/0": None, "t/1": None}
