"""``pulse serve``: run Pulse under gunicorn, the production-grade server, without an access log.

The access log stays off on purpose: it would record client addresses and paths on the answering path.
"""

from __future__ import annotations

import atexit
import subprocess
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from pulse import create_app


class _Gunicorn:  # built lazily so importing the CLI does not import gunicorn
    @staticmethod
    def run(options: dict[str, Any]) -> None:
        from gunicorn.app.base import BaseApplication

        class Application(BaseApplication):
            def load_config(self) -> None:
                for key, value in options.items():
                    self.cfg.set(key, value)

            def load(self) -> Flask:
                # Each worker builds its own app, so no database connection crosses a fork.
                return create_app()

        Application().run()


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--scheduler/--no-scheduler", default=False, show_default=True,
              help="Also run `pulse tick` every minute in the background (what `make run` does).")
def group(host: str, port: int, workers: int, scheduler: bool) -> None:
    """Serve Pulse with gunicorn on HOST:PORT."""
    config = current_app.config["PULSE"]
    if scheduler:
        _start_scheduler()
        click.echo("The scheduler runs every minute (opens, reminds and closes rounds).")
    click.echo(f"Pulse ({config.env}) on http://{host}:{port}/ — database {_safe_url(config.database_url)}")
    if config.mail.backend == "file":
        click.echo(f"Outgoing e-mail is written as .eml files to {config.outbox_dir}")
    _Gunicorn.run({
        "bind": f"{host}:{port}", "workers": workers, "accesslog": None, "errorlog": "-",
        "loglevel": "warning", "preload_app": False, "timeout": 60,
    })


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _start_scheduler() -> None:
    """`pulse tick --every 60` as a child process that ends with this one."""

    process = subprocess.Popen([sys.executable, "-m", "pulse.cli", "tick", "--every", "60"])  # noqa: S603

    def stop() -> None:
        if process.poll() is None:
            process.terminate()

    atexit.register(stop)
