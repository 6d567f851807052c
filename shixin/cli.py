"""The `shixin` command line."""

from __future__ import annotations

import typer

from processors import cli as processors_cli
from producers import cli as producers_cli
from projections import cli as projections_cli
from replay import cli as replay_cli
from rules import cli as rules_cli
from shixin import demo_cli
from shixin.stack import cli as stack_cli

app = typer.Typer(
    name="shixin",
    help="Ledger of joint credit sanctions against dishonest judgment debtors.",
    no_args_is_help=True,
    add_completion=False,
)

# Each part of the product registers its own commands below, one line each.
app.add_typer(stack_cli.app, name="stack")
app.add_typer(stack_cli.topics_app, name="topics")
app.command("process")(processors_cli.process)
app.add_typer(processors_cli.clock_app, name="clock")
app.command("publish")(producers_cli.publish)
app.command("generate")(producers_cli.generate)
app.add_typer(rules_cli.app, name="rules")
projections_cli.register(app)
app.command("replay")(replay_cli.replay_command)
app.add_typer(replay_cli.audit_app, name="audit")
app.command("demo")(demo_cli.demo)
