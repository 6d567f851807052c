"""The `shixin` command line."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="shixin",
    help="Ledger of joint credit sanctions against dishonest judgment debtors.",
    no_args_is_help=True,
    add_completion=False,
)

# Each part of the product registers its own commands below, one line each.
