"""`python -m shixin`: the same as the `shixin` command."""

from shixin.cli import app

app()
