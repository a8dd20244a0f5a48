"""The anonymous answering pages (/r). No session, no cookie, no logging of anything about the request.

The invitation credential travels only in POST bodies (a link carries it in the #fragment, which browsers never
send to the server), and a GET never uses it up, so mail scanners that open links do no harm.
"""

from flask import Blueprint

bp = Blueprint("respond", __name__)

from pulse.respondent.answering import views  # noqa: E402,F401
