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
