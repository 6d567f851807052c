"""`--until-offsets FILE`: what a stop-offsets file must hold, and the errors that
name what is wrong with one (no services needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replay.replayer import ReplayError, _check_stop_offsets, read_offsets_file

COUNTS = {"p.court": 2, "p.agency": 2, "p.publisher": 2, "p.clock": 2}
EVERY = {(topic, partition): 7 for topic in COUNTS for partition in range(2)}


def _file(tmp_path: Path, data: object) -> str:
    path = tmp_path / "offsets.json"
    path.write_text(json.dumps(data), "utf-8")
    return str(path)


def test_a_good_file_is_read_as_topic_partition_offsets(tmp_path: Path) -> None:
    path = _file(tmp_path, {"p.court": {"0": 5, "1": 0}, "p.clock": {"0": 12}})
    assert read_offsets_file(path) == {
        ("p.court", 0): 5,
        ("p.court", 1): 0,
        ("p.clock", 0): 12,
    }


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ([1, 2], "holds [1, 2]"),
        ({}, "holds {}"),
        (True, "holds true"),
        ({"p.court": [5]}, "topic 'p.court' has [5]"),
        ({"p.court": {}}, "topic 'p.court' has {}"),
        ({"p.court": {"x": 5}}, "partition 'x': expected a partition number"),
        ({"p.court": {"0": -5}}, "offset -5"),
        ({"p.court": {"0": 1.5}}, "offset 1.5"),
        ({"p.court": {"0": True}}, "offset true"),
        ({"p.court": {"0": "5"}}, 'offset "5"'),
    ],
)
def test_a_bad_file_names_what_is_wrong(
    tmp_path: Path, data: object, named: str
) -> None:
    with pytest.raises(ReplayError) as refused:
        read_offsets_file(_file(tmp_path, data))
    assert named in str(refused.value)


def test_every_partition_of_every_ledger_topic_needs_a_stop_offset() -> None:
    _check_stop_offsets(EVERY, COUNTS)  # complete: accepted

    without_clock = {tp: o for tp, o in EVERY.items() if tp[0] != "p.clock"}
    with pytest.raises(ReplayError, match="no stop offset for p.clock partition 0"):
        _check_stop_offsets(without_clock, COUNTS)
    with pytest.raises(ReplayError, match="'p.deadlines', which is not a ledger"):
        _check_stop_offsets({**EVERY, ("p.deadlines", 0): 1}, COUNTS)
    with pytest.raises(ReplayError, match="partition 9 of 'p.court'.*0-1"):
        _check_stop_offsets({**EVERY, ("p.court", 9): 1}, COUNTS)
