"""Entry point for production servers: ``gunicorn wsgi:app``. Configuration comes from PULSE_* variables."""

from pulse import create_app

app = create_app()
