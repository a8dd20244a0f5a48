"""Pulse: anonymous, protected work-environment pulse surveys.

Two applications (docs/ARCHITECTURE.md): :func:`pulse.respondent.create_respondent_app` (answering and public
pages) and :func:`pulse.staff.create_staff_app` (everything that needs a sign-in or a token).
:func:`create_app` serves both from one process, split by path (``make run``, ``wsgi:app``).

This package's own import stays light on purpose: the pure layer (``pulse.domain``) must import without Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from pulse.common.config import Config
    from pulse.common.db import Database


def create_app(config: Config | None = None, *, database: Database | None = None) -> Flask:
    """Both apps in one process (see :func:`pulse.combined.create_combined_app`).

    :param config: the configuration; read from ``PULSE_*`` environment variables when omitted.
    :param database: an existing :class:`~pulse.common.db.Database` to use instead of one built from the config.
    """
    from pulse.combined import create_combined_app  # imported here so that `import pulse.domain` needs no Flask

    return create_combined_app(config, database=database)


def respondent_app(app: Flask) -> Flask:
    """The respondent app inside a combined app (tests register hooks on it with this)."""
    respondent: Flask = app.extensions["pulse.respondent"]
    return respondent
