"""``pulse org``: the organisation (import from CSV)."""

from __future__ import annotations

import click
from flask.cli import AppGroup


@click.group("org", cls=AppGroup)
def group() -> None:
    """Organisation commands."""
