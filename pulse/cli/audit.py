"""``pulse audit``: check the audit log's hash chain."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from pulse.common.context import key
from pulse.common.db import get_database
from pulse.domain.crypto import KeyPurpose
from pulse.services import audit as audit_log


@click.group("audit", cls=AppGroup)
def group() -> None:
    """Audit log commands."""


@group.command("verify")
def verify_command() -> None:
    """Verify every entry of the audit log; exit status 1 if the chain is broken."""
    with get_database(current_app).session() as session:
        result = audit_log.verify(session, key(KeyPurpose.AUDIT_CHAIN))
    if result.ok:
        click.echo(f"OK: {result.entries} entries, chain head {result.head}")
        return
    click.echo(f"BROKEN at entry {result.broken_seq}: {result.problem} "
               f"({result.entries} entries verified before it)", err=True)
    sys.exit(1)
