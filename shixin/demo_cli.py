"""`shixin demo`: the main job on the bundled sample data (or a generated workload)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shixin.demo import Report, Stage, run_demo, sample_inputs
from shixin.settings import get_settings


def demo(
    report_file: Annotated[
        Path | None, typer.Option("--report", help="Also write the report as JSON.")
    ] = None,
    scale: Annotated[
        int | None,
        typer.Option(
            help="Run on a generated workload of this many listings instead of the "
            "bundled sample (shixin generate, seed --seed)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated workload.")] = 1,
) -> None:
    """Publish, process, tick, project, replay and compare; then report."""
    console = Console()
    settings = get_settings()

    def on_stage(stage: Stage) -> None:
        mark = "[green]ok[/green]" if stage.ok else "[red]FAILED[/red]"
        console.print(
            f"{mark} {stage.name:<14} {stage.seconds:8.2f}s "
            f"{stage.items:>10,} {stage.unit:<8} {stage.rate:>12,.0f}/s  {stage.detail}"
        )

    with tempfile.TemporaryDirectory(prefix="shixin-generated-") as tmp:
        if scale is None:
            inputs = sample_inputs()
        else:
            from producers.generate import generate_files

            out = Path(tmp)
            console.print(f"generating {scale:,} listings (seed {seed}) ...")
            generate_files(out, listings=scale, seed=seed)
            inputs = [out / "listings.jsonl", out / "lifecycles.jsonl"]
            settings = settings.model_copy(
                update={
                    "topic_prefix": f"{settings.topic_prefix}-scale{scale}-s{seed}",
                    "ledger_schema": f"{settings.ledger_schema}_scale{scale}_s{seed}",
                }
            )
        report = run_demo(settings, inputs, on_stage=on_stage)

    _print(console, report)
    if report_file is not None:
        report_file.write_text(
            json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        console.print(f"report written to {report_file}")
    raise typer.Exit(0 if report.ok else 1)


def _counts(title: str, counts: dict[str, int], key: str) -> Table:
    table = Table(title=title)
    table.add_column(key)
    table.add_column("count", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    return table


def _print(console: Console, report: Report) -> None:
    console.print()
    console.print(_counts("Listings by state", report.listings_by_state, "state"))
    console.print(
        _counts(
            "Active measures per agency", report.active_measures_by_agency, "agency"
        )
    )
    console.print(_counts("Violations by rule", report.violations_by_rule, "rule"))
    console.print(
        _counts(
            "Violations by responsible court or agency",
            report.violations_by_responsible,
            "responsible",
        )
    )
    shown = report.violations[:60]
    if shown:
        table = Table(title=f"Violations ({len(report.violations)}), with their events")
        for column in ("rule", "responsible", "listing", "trigger", "answer", "due"):
            table.add_column(column, overflow="fold")
        for v in shown:
            table.add_row(
                v["rule_id"],
                f"{v['responsible_kind']} {v['responsible_code'] or ''}",
                v["listing_id"],
                v["trigger_event"],
                v["response_event"] or "",
                v["due_date"] or "",
            )
        console.print(table)
    if report.late_party_acts:
        console.print(
            _counts(
                "Late acts of parties (lapsed rights, not violations)",
                report.late_party_acts,
                "rule and verdict",
            )
        )
    if report.expected_checks:
        c = report.expected_checks
        console.print(
            "sample verdicts reproduced: "
            f"[bold]{c['reproduced']}/{c['expected']}[/bold]"
        )
        for m in c["mismatches"][:20]:
            console.print(f"  [red]mismatch[/red] {m}")
    audit = report.audit
    if audit:
        verdict = "[green]EQUAL[/green]" if audit["equal"] else "[red]DIFFER[/red]"
        console.print(
            f"audit: live {audit['live']['sha256'][:16]} / replay "
            f"{audit['replay']['sha256'][:16]}: {verdict}"
        )
        for table_name, d in audit.get("diff", {}).items():
            console.print(
                f"  {table_name}: {len(d['only_live'])} rows only live, "
                f"{len(d['only_replay'])} only replayed"
            )
    table = Table(title="Stages")
    for column in ("stage", "ok", "seconds", "items", "rate/s", "detail"):
        table.add_column(column)
    for s in report.stages:
        table.add_row(
            s.name,
            "yes" if s.ok else "NO",
            f"{s.seconds:.2f}",
            f"{s.items:,} {s.unit}",
            f"{s.rate:,.0f}",
            s.detail,
        )
    console.print(table)
    console.print(
        "[bold green]main job OK[/bold green]"
        if report.ok
        else "[bold red]main job FAILED[/bold red]"
    )
