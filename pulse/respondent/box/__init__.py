"""The complaint and suggestion box for anyone, without signing in (/box). No session, no cookie, and nothing about
the request is stored or logged: the reply key, sent in POST bodies only, is the one authority."""

from flask import Blueprint

bp = Blueprint("box", __name__)

from pulse.respondent.box import views  # noqa: E402,F401
