"""Entry points for production servers. Configuration comes from PULSE_* variables.

- ``gunicorn wsgi:app`` — both apps in one process, split by path (the simple default);
- ``gunicorn 'pulse.respondent:create_respondent_app()'`` and ``gunicorn 'pulse.staff:create_staff_app()'`` — the
  respondent app and the staff app as separate processes, or on separate hosts (docs/OPERATIONS.md, deploy/).
"""

from pulse import create_app

app = create_app()
