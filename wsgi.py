"""Entry points for production servers. Configuration comes from PULSE_* variables.

- ``gunicorn wsgi:app`` — both apps in one process, split by path (the simple default);
- ``gunicorn wsgi:respondent`` and ``gunicorn wsgi:staff`` — the respondent app and the staff app as separate
  processes, or on separate hosts (docs/OPERATIONS.md, deploy/). Each is built only when asked for.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Build the app a server asks for, and only that one (module attributes on demand, PEP 562)."""
    if name == "app":
        from pulse import create_app

        return create_app()
    if name == "respondent":
        from pulse.respondent import create_respondent_app

        return create_respondent_app()
    if name == "staff":
        from pulse.staff import create_staff_app

        return create_staff_app()
    raise AttributeError(name)
