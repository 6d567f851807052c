"""The workload generator: deterministic for a seed, valid for the contract."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from contract.convert import parse_line
from producers._identifiers import org_code_check, ric_check, uscc_check
from producers.generate import generate_files


def _digest(directory: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in ("listings.jsonl", "lifecycles.jsonl")
    }


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    generate_files(tmp_path / "a", listings=300, seed=42)
    generate_files(tmp_path / "b", listings=300, seed=42)
    generate_files(tmp_path / "c", listings=300, seed=43)

    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_every_generated_record_passes_the_contract(tmp_path: Path) -> None:
    generate_files(tmp_path, listings=400, seed=7)
    problems = []
    for kind, name in (
        ("listing", "listings.jsonl"),
        ("lifecycle", "lifecycles.jsonl"),
    ):
        for number, line in enumerate((tmp_path / name).open(encoding="utf-8"), 1):
            events, errors = parse_line(kind, json.loads(line), f"{name}:{number}")  # type: ignore[arg-type]
            problems.extend(str(e) for e in errors)
            assert errors or events
    assert problems == []


def test_identifiers_have_valid_check_characters(tmp_path: Path) -> None:
    generate_files(tmp_path, listings=300, seed=3)
    for line in (tmp_path / "listings.jsonl").open(encoding="utf-8"):
        truth = json.loads(line)["_synthetic"]
        if "id_number" in truth:
            assert ric_check(truth["id_number"][:17]) == truth["id_number"][17]
        else:
            assert uscc_check(truth["uscc"][:17]) == truth["uscc"][17]
            assert org_code_check(truth["org_code"][:8]) == truth["org_code"][8]
            assert truth["uscc"][8:17] == truth["org_code"]


def test_mix_follows_the_sample_distributions(tmp_path: Path) -> None:
    generate_files(tmp_path, listings=2000, seed=5)
    listings = [
        json.loads(x) for x in (tmp_path / "listings.jsonl").open(encoding="utf-8")
    ]
    truth = [x["_synthetic"] for x in listings]

    persons = sum(t["entity_type"] == "NATURAL_PERSON" for t in truth) / len(truth)
    conducts = Counter(code for t in truth for code in t["conduct_codes"])
    years = {int(t["publish_date"][:4]) for t in truth}

    assert 0.72 < persons < 0.82
    assert conducts.most_common(1)[0][0] == "ABILITY_REFUSAL"
    assert len({t["court_code"] for t in truth}) == 35
    assert min(years) == 2016 and max(years) == 2026


def test_lifecycle_events_are_time_ordered_and_varied(tmp_path: Path) -> None:
    generate_files(tmp_path, listings=1000, seed=9)
    types: Counter[str] = Counter()
    for line in (tmp_path / "lifecycles.jsonl").open(encoding="utf-8"):
        lifecycle = json.loads(line)
        stamps = [e["at"] for e in lifecycle["events"]]
        assert stamps == sorted(stamps), lifecycle["lifecycle_id"]
        assert [e["seq"] for e in lifecycle["events"]] == list(
            range(1, len(stamps) + 1)
        )
        types.update(e["type"] for e in lifecycle["events"])

    for expected in (
        "LISTING_SHIELDED",
        "SANCTION_RELEASED",
        "CORRECTION_REVIEW_DECIDED",
        "RECONSIDERATION_DECIDED",
        "REPUBLISHER_ENTRY_DELETED",
        "SETTLEMENT_PERFORMANCE_CONFIRMED",
        "EXECUTION_TERMINATED",
    ):
        assert types[expected] > 0, expected
