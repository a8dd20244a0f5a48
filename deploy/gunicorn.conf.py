"""Gunicorn settings for Pulse behind nginx (deploy/nginx/). The systemd units start it as

    gunicorn --config deploy/gunicorn.conf.py --bind 127.0.0.1:8000 wsgi:app

Command-line options override what is set here. docs/OPERATIONS.md explains the choices.
"""

import os

# Loopback only: nginx terminates TLS in front, and nothing else may reach the app (the address it reports for a
# client comes from nginx's X-Forwarded-For, trusted with PULSE_TRUSTED_PROXIES=1).
bind = "127.0.0.1:8000"

# Threaded workers that keep connections alive: each worker serves up to four requests at once (one database
# connection each, from its pool), and nginx reuses its connections to them (`keepalive` in the upstream blocks of
# deploy/nginx, `proxy_set_header Connection ""`) instead of opening one per request. Measured against sync
# workers, which close the connection after every response, in docs/OPERATIONS.md ("Workers and threads").
# Everything a worker keeps in memory is shared by its threads under locks (pulse/common/cache.py, the limiters).
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "gthread"
threads = int(os.environ.get("PULSE_THREADS", "4"))
# Seconds an idle connection from nginx stays open. nginx's upstream `keepalive_timeout` (deploy/nginx: 4 s) is
# shorter, so nginx is always the side that closes an idle connection: were gunicorn to close first, a POST that
# nginx sent on the closing connection would fail with 502 (nginx retries only idempotent requests).
keepalive = 5
timeout = 60
graceful_timeout = 30

# Never an access log: it would record client addresses, paths and times on the answering path
# (docs/ANONYMITY.md, "The answering path"). Errors go to standard error, that is the journal.
accesslog = None
errorlog = "-"
loglevel = "warning"

# Each worker builds its own app, so no database connection crosses a fork.
preload_app = False

# X-Forwarded-Proto from nginx on this machine says the request came over HTTPS. The client's own address (for
# the per-client limits on wrong codes and sign-ins) comes from X-Forwarded-For through the app itself: set
# PULSE_TRUSTED_PROXIES=1 with the nginx configuration in deploy/nginx in front (docs/OPERATIONS.md).
forwarded_allow_ips = "127.0.0.1,::1"

# systemd manages the processes; gunicorn 27's control socket (one path per user by default) would clash between
# the respondent and the staff app running as the same user.
control_socket_disable = True
