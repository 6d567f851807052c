"""Write the golden files of the contract; run once per deliberate schema release.

    .venv/bin/python tests/golden/make_golden.py

Copies every current schema to tests/golden/schemas/ and writes one encoded sample
event per type to tests/golden/events/<EVENT_TYPE>.bin with the values it must decode
to in <EVENT_TYPE>.json. Existing event files are kept unless --force is given: old
golden bytes must keep decoding after schema changes.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from contract import codec
from contract.samples import as_jsonable, sample_events
from schemas import SCHEMA_DIR

GOLDEN = Path(__file__).resolve().parent


def main(force: bool) -> None:
    schemas = GOLDEN / "schemas"
    schemas.mkdir(exist_ok=True)
    for event_type, version in codec.registry().current.items():
        shutil.copyfile(version.path, schemas / f"{event_type.lower()}.avsc")

    events = GOLDEN / "events"
    events.mkdir(exist_ok=True)
    for event_type, event in sorted(sample_events().items()):
        binary = events / f"{event_type}.bin"
        if binary.exists() and not force:
            continue
        binary.write_bytes(codec.encode(event))
        expected = json.dumps(
            as_jsonable(event), ensure_ascii=False, indent=1, sort_keys=True
        )
        (events / f"{event_type}.json").write_text(expected + "\n", encoding="utf-8")

    # One payload written with a historical schema version, to prove it still decodes.
    old = codec.load_schema(
        SCHEMA_DIR / "history" / "agency" / "sanction_released.v1.avsc"
    )
    event = sample_events()["SANCTION_RELEASED"]
    record = codec.to_record(event, codec.schema_for("SANCTION_RELEASED"))
    binary = events / "SANCTION_RELEASED.v1.bin"
    if force or not binary.exists():
        binary.write_bytes(codec.encode_record(record, old))


if __name__ == "__main__":
    main(force="--force" in sys.argv)
