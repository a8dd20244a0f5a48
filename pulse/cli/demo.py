"""``pulse demo``: load demo data."""

from __future__ import annotations

import click
from flask.cli import AppGroup


@click.group("demo", invoke_without_command=True, cls=AppGroup)
def group() -> None:
    """Load the demo organisation."""
