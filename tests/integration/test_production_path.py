"""The README's production path, from an empty database, through the real commands and HTTP:
``pulse db upgrade``, ``pulse user create-admin``, ``pulse org import``, ``pulse survey create`` with the default
questions, ``pulse round open``, answering with the links from the invitation e-mails, ``pulse round close``, and
the administrator reading the results.

No ``create_all`` and no demo: the schema and the question bank are what the migrations make. CSRF protection is on,
as in production, and the thresholds are the production defaults (k 6, k_dist 10, k_comments 10).
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from pulse import create_app
from pulse.cli import main
from pulse.cli.db import alembic_config
from pulse.common.config import Thresholds
from pulse.common.db import get_database
from pulse.domain.questionbank import BANK, DEFAULT_PULSE
from tests.conftest import make_config

ADMIN = "hanna.hr@exempelstad.se"
ADMIN_PASSWORD = "a long and private admin password"  # noqa: S105 - a test account
UNITS = """unit_id,name,parent_id
exempelstad,Exempelstad,
team-a,Team A,exempelstad
team-b,Team B,exempelstad
"""
#: Two teams of eight and their manager; the manager and HR count directly in the top unit, where two people can
#: never be a group of k, so they are not invited (the round says so).
PEOPLE = "email,name,unit_id,roles,manages,safety_area,language,status\n" + "\n".join([
    f"{ADMIN},Hanna HR,exempelstad,admin,,,sv,active",
    "chef@exempelstad.se,Carl Chef,exempelstad,manager,team-a;team-b,,sv,active",
    *(f"a{i}@exempelstad.se,Anna {i},team-a,{'safety_rep' if i == 0 else 'employee'},,"
      f"{'exempelstad' if i == 0 else ''},sv,active" for i in range(8)),
    *(f"b{i}@exempelstad.se,Bo {i},team-b,employee,,,{'en' if i == 0 else 'sv'},active" for i in range(8)),
]) + "\n"
#: One answer per scale for every default question.
BY_SCALE = {"agree5": "4", "freq5": "2", "yesno": "0", "enps": "9"}
SCALES = {item.code: item.scale for item in BANK}


@pytest.fixture
def bare_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on the empty test database: nothing creates tables here, `pulse db upgrade` does."""
    app = create_app(make_config(database_url, tmp_path, thresholds=Thresholds()))
    yield app
    get_database(app).dispose()


def pulse(app: Flask, *args: str, stdin: str | None = None) -> Result:
    result = app.test_cli_runner().invoke(main, list(args), input=stdin)
    assert result.exit_code == 0, f"pulse {' '.join(args)}: {result.output}"
    return result


def invitation_links(outbox: Path) -> list[str]:
    """The secret of each invitation's link: what follows ``#t=`` (the fragment a browser never sends)."""
    links = []
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",))
        assert body is not None
        match = re.search(r"http://pulse\.test/r\?lang=(sv|en)#t=([A-Za-z0-9_-]+)", body.get_content())
        assert match, body.get_content()
        links.append(match.group(2))
    return links


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def answer(client: FlaskClient, token: str) -> None:
    start = client.post("/r/start", data={"credential": token})
    assert start.status_code == 200
    codes = re.findall(r'name="q-([A-Z0-9-]+)"', start.get_data(as_text=True))
    assert set(codes) == set(DEFAULT_PULSE)
    form = {"credential": token, **{f"q-{code}": BY_SCALE[SCALES[code]] for code in codes}}
    done = client.post("/r/submit", data=form)
    assert done.status_code == 200, done.get_data(as_text=True)[:1000]
    assert "Set-Cookie" not in done.headers


def test_production_path_from_an_empty_database(bare_app: Flask, tmp_path: Path) -> None:
    app = bare_app
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"Database is at {head}." in pulse(app, "db", "upgrade").output
    pulse(app, "user", "create-admin", ADMIN, "--name", "Hanna HR", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    pulse(app, "org", "import", str(tmp_path / "units.csv"), str(tmp_path / "people.csv"))

    created = pulse(app, "survey", "create", "--name", "Veckopuls", "--unit", "exempelstad", "--cadence", "manual")
    assert "Survey 1 created" in created.output
    opened = pulse(app, "round", "open", "1")
    assert "Round 1 is open: 16 invited (2 not invited" in opened.output
    assert "16 invitations sent" in opened.output

    links = invitation_links(app.config["PULSE"].outbox_dir)
    assert len(links) == 16
    client = app.test_client()
    for token in links:
        answer(client, token)
    # A link works once.
    again = client.post("/r/submit", data={"credential": links[0], **{f"q-{c}": BY_SCALE[SCALES[c]]
                                                                       for c in DEFAULT_PULSE}})
    assert again.status_code == 409

    closed = pulse(app, "round", "close", "1")
    assert "closed" in closed.output.lower()
    assert "OK:" in pulse(app, "audit", "verify").output

    # The administrator signs in over HTTP and reads the release.
    login = client.get("/staff/login")
    response = client.post("/staff/login", data={"email": ADMIN, "password": ADMIN_PASSWORD,
                                                  "csrf_token": csrf_token(login.get_data(as_text=True))})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    index = client.get("/staff/results/").get_data(as_text=True)
    match = re.search(r'href="(/staff/results/\d+/units/\d+)"', index)
    assert match, index[:2000]
    page = client.get(match.group(1))
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)))
    assert "Exempelstad" in text and "Veckopuls: omgång 1" in text
    assert "16 svarade" in text
    # Everyone answered 4 ("largely agree") on the workload item, version 1 of the bank the migration installed.
    assert re.search(r"OSA-WL1 v1 4,0 16 ", text), text
