"""``pulse audit``: check the audit log's hash chain, and whether a file is one Pulse exported."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

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


@group.command("verify-export")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_export_command(path: Path) -> None:
    """Check that FILE is exactly a file Pulse exported (a report or a 6:6a request PDF), by its SHA-256 in the
    audit log; exit status 1 if it is not there, or if the audit log's chain is broken."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with get_database(current_app).session() as session:
        found = audit_log.find_export(session, digest)
        chain = audit_log.verify(session, key(KeyPurpose.AUDIT_CHAIN))
    if not found:
        click.echo(f"NOT FOUND: no export in the audit log has SHA-256 {digest}; the file was changed, or Pulse "
                   "did not make it.", err=True)
        sys.exit(1)
    for entry in found:
        click.echo(f"MATCH: audit entry {entry.seq}, {entry.action} on {entry.target} by {entry.actor} at "
                   f"{entry.at.isoformat(timespec='seconds')} {entry.details}")
    if not chain.ok:
        click.echo(f"BUT the audit log is BROKEN at entry {chain.broken_seq}: {chain.problem}", err=True)
        sys.exit(1)
    click.echo(f"OK: SHA-256 {digest}; the audit log's chain verifies ({chain.entries} entries).")
