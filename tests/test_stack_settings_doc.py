"""The README's settings table names every setting."""

from __future__ import annotations

from pathlib import Path

from shixin.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_lists_every_setting_with_its_description() -> None:
    text = README.read_text(encoding="utf-8")

    for name, field in Settings.model_fields.items():
        row = f"| `{name.upper()}` |"
        assert row in text, f"README.md: no settings row for {name.upper()}"
        line = next(line for line in text.splitlines() if line.startswith(row))
        assert field.description is not None and field.description in line, name


def test_a_new_cluster_id_never_begins_with_a_dash() -> None:
    # kafka-storage's parser took "-t -xyz…" for a missing argument: 1 format in 64
    import base64

    from shixin.stack.kafka import new_cluster_id

    ids = [new_cluster_id() for _ in range(5000)]
    assert not any(i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
    for i in ids[:50]:  # 16 random bytes, URL-safe base64 without padding
        assert len(base64.urlsafe_b64decode(i + "==")) == 16
