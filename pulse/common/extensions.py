"""Flask extensions, created unbound and bound in :func:`pulse.create_app`."""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
babel = Babel()


def init_app(app: Flask) -> None:
    csrf.init_app(app)
