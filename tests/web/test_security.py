"""Security headers, CSRF, upload limits, unknown ids, wrong methods and garbage input.

Whatever arrives, Pulse answers with a translated page and the right status, never a 500, and a refused
request leaves every stored row as it was.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from pulse.models import OrgImport
from tests.factories import Org, sign_in, snapshot

CSRF_MESSAGE = {
    "en": "The form had expired or did not come from this site. Please fill it in again.",
    "sv": "Formuläret hade gått ut eller kom inte från den här webbplatsen. Fyll i det igen.",
}
TOO_LARGE_MESSAGE = {"en": "Files may be at most 1 MB.", "sv": "Filer får vara högst 1 MB."}


def header_values(response: TestResponse) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


def assert_security_headers(response: TestResponse) -> None:
    headers = header_values(response)
    csp = headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


@pytest.fixture
def admin_client(client: FlaskClient, org: Org) -> FlaskClient:
    sign_in(client, org.emails["admin"])
    return client


@pytest.fixture
def failing_route(app: Flask) -> str:
    def boom() -> str:
        raise RuntimeError("internal detail 8f3a")

    app.add_url_rule("/staff/boom", "boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return "/staff/boom"


# --- Headers ------------------------------------------------------------------------------------------------

PUBLIC_RESPONSES = {
    "public page": ("/", 200),
    "health check": ("/healthz", 200),
    "static file": ("/static/css/pulse.css", 200),
    "public 404": ("/no-such-page", 404),
    "public 405": ("/healthz", 405),
    "redirect to sign-in": ("/staff/settings", 302),
    "sign-in page": ("/staff/login", 200),
    "staff 404 signed out": ("/staff/no-such-page", 404),
}


@pytest.mark.parametrize("kind", PUBLIC_RESPONSES)
def test_security_headers_on_every_kind_of_response(kind: str, client: FlaskClient, org: Org) -> None:
    path, status = PUBLIC_RESPONSES[kind]
    response = client.open(path, method="POST" if status == 405 else "GET")
    assert response.status_code == status
    assert_security_headers(response)
    response.close()


STAFF_RESPONSES = {
    "staff page": ("GET", "/staff/", 200),
    "admin page": ("GET", "/staff/admin/units", 200),
    "csv download": ("GET", "/staff/admin/export/people.csv", 200),
    "staff redirect": ("GET", "/staff/admin/", 302),
    "staff 404": ("GET", "/staff/admin/people/999999", 404),
    "staff 405": ("GET", "/staff/logout", 405),
    "staff 400": ("POST", "/staff/language", 400),
}


@pytest.mark.parametrize("kind", STAFF_RESPONSES)
def test_staff_responses_are_never_cached(kind: str, admin_client: FlaskClient) -> None:
    method, path, status = STAFF_RESPONSES[kind]
    response = admin_client.open(path, method=method)
    assert response.status_code == status
    assert_security_headers(response)
    assert header_values(response)["cache-control"] == "no-store"


def test_staff_403_and_500_pages_have_the_headers_too(client: FlaskClient, org: Org, session: Session,
                                                      failing_route: str) -> None:
    org.employee.language = "en"
    session.commit()
    sign_in(client, org.emails["employee"])
    refused = client.get("/staff/admin/units")
    assert refused.status_code == 403
    broken = client.get(failing_route)
    assert broken.status_code == 500
    assert "Something went wrong on our side" in broken.get_data(as_text=True)
    assert "internal detail 8f3a" not in broken.get_data(as_text=True)
    for response in (refused, broken):
        assert_security_headers(response)
        assert header_values(response)["cache-control"] == "no-store"


def test_pages_need_no_inline_script_or_style(admin_client: FlaskClient, org: Org) -> None:
    # The CSP forbids inline code, so a page that relied on it would silently break.
    for path in ("/staff/", "/staff/settings", "/staff/admin/units", f"/staff/admin/people/{org.employee.id}",
                 "/staff/admin/audit", "/staff/admin/import"):
        html = admin_client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\sstyle=|<style\b|\son[a-z]+=", html), path


# --- CSRF ---------------------------------------------------------------------------------------------------


@pytest.fixture
def csrf_on(app: Flask) -> Iterator[None]:
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def csrf_token(client: FlaskClient, path: str, name: str = "csrf_token") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]+)"', html)
    assert match, f"no {name} on {path}"
    return match.group(1)


FORGED = {"missing": {}, "forged": {"csrf_token": "IjAwMDAi.forged.token"}}


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("token", FORGED)
def test_sign_in_without_a_valid_token_is_refused(token: str, language: str, client: FlaskClient, org: Org,
                                                  session: Session, csrf_on: None) -> None:
    before = snapshot(session)
    response = client.post("/staff/login", data={"email": org.admin.email, "password": "x" * 20, **FORGED[token]},
                           headers={"Accept-Language": language})
    assert response.status_code == 400
    assert CSRF_MESSAGE[language] in response.get_data(as_text=True)
    assert snapshot(session) == before
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("token", FORGED)
def test_settings_without_a_valid_token_are_refused(token: str, language: str, client: FlaskClient, org: Org,
                                                    session: Session, csrf_on: None) -> None:
    # The page is in the signed-in person's language, whatever the browser asks for.
    org.admin.language = language
    session.commit()
    sign_in_with_token(client, org.admin.email)
    before = snapshot(session)
    other = "en" if language == "sv" else "sv"
    response = client.post("/staff/settings", data={"settings-language": other, **FORGED[token]},
                           headers={"Accept-Language": other})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert CSRF_MESSAGE[language] in page
    # Still signed in: the error page keeps the staff menu.
    assert org.admin.email in page
    assert snapshot(session) == before


def test_settings_with_the_right_token_are_saved(client: FlaskClient, org: Org, session: Session,
                                                 csrf_on: None) -> None:
    sign_in_with_token(client, org.admin.email)
    token = csrf_token(client, "/staff/settings", "settings-csrf_token")
    response = client.post("/staff/settings", data={"settings-language": "en", "settings-csrf_token": token})
    assert response.status_code == 302
    session.expire_all()
    assert session.get_one(type(org.admin), org.admin.id).language == "en"
    session.commit()


def sign_in_with_token(client: FlaskClient, email: str) -> None:
    from tests.factories import PASSWORD

    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("token", FORGED)
def test_person_edit_without_a_valid_token_is_refused(token: str, language: str, client: FlaskClient, org: Org,
                                                      session: Session, csrf_on: None) -> None:
    org.admin.language = language
    session.commit()
    sign_in_with_token(client, org.admin.email)
    before = snapshot(session)
    response = client.post(f"/staff/admin/people/{org.employee.id}",
                           data={"name": "Changed", "unit": str(org.team_b.id), "language": "en", "status": "left",
                                 "is_admin": "y", **FORGED[token]})
    assert response.status_code == 400
    assert CSRF_MESSAGE[language] in response.get_data(as_text=True)
    assert snapshot(session) == before


UNITS = "unit_id,name,parent_id\nroot,Exempelstad,\n"
PEOPLE = ("email,name,unit_id,roles,manages,safety_area,language,status\n"
          "admin@example.org,Ada Admin,root,admin,,,sv,active\n")


def upload(units: bytes | str = UNITS, people: bytes | str = PEOPLE, units_name: str = "units.csv",
           people_name: str = "people.csv") -> dict[str, object]:
    """Form data for the import page: both organisation files."""

    def as_bytes(data: bytes | str) -> bytes:
        return data if isinstance(data, bytes) else data.encode()

    return {"units": (io.BytesIO(as_bytes(units)), units_name), "people": (io.BytesIO(as_bytes(people)), people_name)}


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("token", FORGED)
def test_import_without_a_valid_token_is_refused(token: str, language: str, client: FlaskClient, org: Org,
                                                 session: Session, csrf_on: None) -> None:
    org.admin.language = language
    session.commit()
    sign_in_with_token(client, org.admin.email)
    before = snapshot(session)
    response = client.post("/staff/admin/import", data={**upload(), **FORGED[token]},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert CSRF_MESSAGE[language] in response.get_data(as_text=True)
    assert snapshot(session) == before


# --- Upload size --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["sv", "en"])
def test_oversized_upload_is_refused_with_413(language: str, app: Flask, client: FlaskClient, org: Org,
                                              session: Session) -> None:
    org.admin.language = language
    session.commit()
    sign_in(client, org.emails["admin"])
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    before = snapshot(session)
    big = "unit_id,name,parent_id\n" + "x,y,\n" * 300_000
    response = client.post("/staff/admin/import", data=upload(units=big), content_type="multipart/form-data")
    assert response.status_code == 413
    assert TOO_LARGE_MESSAGE[language] in response.get_data(as_text=True)
    assert snapshot(session) == before


# --- Wrong methods ------------------------------------------------------------------------------------------

WRONG_METHODS = [
    ("GET", "/staff/logout"),
    ("GET", "/staff/language"),
    ("GET", "/staff/admin/audit/verify"),
    ("GET", "/staff/admin/import/{token}/cancel"),
    ("PUT", "/staff/settings"),
    ("DELETE", "/staff/admin/people/{person}"),
    ("PATCH", "/staff/admin/units/{unit}"),
    ("POST", "/staff/units"),
    ("POST", "/staff/admin/export/units.csv"),
    ("POST", "/"),
    ("DELETE", "/healthz"),
]


@pytest.mark.parametrize(("method", "path"), WRONG_METHODS)
def test_wrong_methods_get_405(method: str, path: str, admin_client: FlaskClient, org: Org,
                               session: Session) -> None:
    before = snapshot(session)
    url = path.format(token="t" * 43, person=org.employee.id, unit=org.team_a.id)
    response = admin_client.open(url, method=method)
    assert response.status_code == 405
    assert "Allow" in response.headers
    assert "Det fungerar inte här" in response.get_data(as_text=True)
    assert snapshot(session) == before


# --- Unknown ids --------------------------------------------------------------------------------------------

#: Larger than any id the database can hold: an unknown page, not a database error.
HUGE = ["2147483648", "9223372036854775808", "1" + "0" * 30]

UNKNOWN = [
    "/staff/units/999999",
    "/staff/admin/units/999999",
    "/staff/admin/people/999999",
    "/staff/admin/import/no-such-token",
    "/staff/admin/audit?page=3",
    "/staff/units/abc",
    "/staff/admin/people/-1",
    "/staff/admin/people/1.5",
    "/staff/admin/export/secrets.csv",
    *(f"/staff/units/{n}" for n in HUGE),
    *(f"/staff/admin/units/{n}" for n in HUGE),
    *(f"/staff/admin/people/{n}" for n in HUGE),
    *(f"/staff/admin/audit?page={n}" for n in HUGE),
]


@pytest.mark.parametrize("path", UNKNOWN)
def test_unknown_ids_in_urls_are_404(path: str, admin_client: FlaskClient, session: Session) -> None:
    before = snapshot(session)
    response = admin_client.get(path)
    assert response.status_code == 404
    assert "Sidan finns inte" in response.get_data(as_text=True)
    assert snapshot(session) == before


@pytest.mark.parametrize("path", ["/staff/admin/import/no-such-token", "/staff/admin/import/no-such-token/cancel",
                                  "/staff/admin/people/999999", f"/staff/admin/people/{HUGE[1]}"])
def test_posts_to_unknown_ids_are_404(path: str, admin_client: FlaskClient, session: Session) -> None:
    before = snapshot(session)
    response = admin_client.post(path, data={"digest": "0" * 64, "name": "X", "unit": "0", "language": "sv",
                                             "status": "active"})
    assert response.status_code == 404
    assert snapshot(session) == before


def test_another_admins_import_preview_is_404(client: FlaskClient, org: Org, session: Session) -> None:
    from tests.factories import make_person

    other = make_person(session, "admin2@example.org", unit=org.root, admin=True)
    session.add(OrgImport(token="x" * 43, created_by=other.id, units_filename="units.csv",
                          people_filename="people.csv", units_csv="", people_csv=""))
    session.commit()
    sign_in(client, org.emails["admin"])
    before = snapshot(session)
    assert client.get("/staff/admin/import/" + "x" * 43).status_code == 404
    assert client.post("/staff/admin/import/" + "x" * 43 + "/cancel").status_code == 404
    assert client.post("/staff/admin/import/" + "x" * 43, data={"digest": ""}).status_code == 404
    assert snapshot(session) == before


def test_the_last_audit_page_exists_and_the_next_does_not(admin_client: FlaskClient, org: Org) -> None:
    # Signing in wrote one entry: one page.
    assert admin_client.get("/staff/admin/audit?page=1").status_code == 200
    assert admin_client.get("/staff/admin/audit").status_code == 200
    assert admin_client.get("/staff/admin/audit?page=2").status_code == 404


# --- Never a trace ------------------------------------------------------------------------------------------


def test_a_database_error_still_gets_the_translated_error_page(app: Flask, admin_client: FlaskClient, org: Org,
                                                              session: Session,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from pulse.models import Management
    from pulse.services import people

    def fails_to_flush(db: Session, person: object, changes: object, acting: object = None) -> None:
        db.add(Management(person_id=org.employee.id, unit_id=999999))  # no such unit: the flush fails
        db.flush()

    monkeypatch.setattr(people, "update_person", fails_to_flush)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    before = snapshot(session)
    response = admin_client.post(f"/staff/admin/people/{org.employee.id}",
                                 data={"name": "X", "unit": str(org.team_a.id), "language": "sv", "status": "active"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Något gick fel hos oss" in page
    assert "Management" not in page
    assert "999999" not in page
    # The page still knows who is signed in (the failed transaction was rolled back before drawing it).
    assert org.admin.email in page
    assert snapshot(session) == before


# --- Garbage input ------------------------------------------------------------------------------------------

CLEAR_400 = ("Något behöver rättas", "Något i förfrågan var fel")  # the form's error summary, or the error page


def assert_clear_400(response: TestResponse) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:3000]
    page = response.get_data(as_text=True)
    assert any(text in page for text in CLEAR_400), page[:3000]
    assert "Traceback" not in page


def person_form(org: Org, **changes: object) -> dict[str, object]:
    return {"name": "Erik Anställd", "unit": str(org.team_a.id), "language": "sv", "status": "active", **changes}


PERSON_GARBAGE = {
    "name very long": {"name": "x" * 10_000},
    "name with NUL": {"name": "Erik\x00Anställd"},
    "name not UTF-8": {"name": "Erik \ufffd"},
    "name only spaces": {"name": "   "},
    "name twice": {"name": ["Erik", "Someone Else"]},
    "unit not a number": {"unit": "abc"},
    "unit unknown": {"unit": "999999"},
    "unit beyond any id": {"unit": "9" * 40},
    "unit twice": {"unit": ["0", "1"]},
    "manages not a number": {"manages": ["x"]},
    "manages unknown": {"manages": ["999999"]},
    "safety area negative": {"safety_area": ["-1"]},
    "language unknown": {"language": "xx"},
    "language very long": {"language": "sv" * 5_000},
    "language twice": {"language": ["sv", "en"]},
    "status unknown": {"status": "deleted"},
    "status twice": {"status": ["active", "left"]},
    "status missing": {"status": None},
}


@pytest.mark.parametrize("garbage", PERSON_GARBAGE)
def test_garbage_in_the_person_form(garbage: str, admin_client: FlaskClient, org: Org, session: Session) -> None:
    data = {key: value for key, value in person_form(org, **PERSON_GARBAGE[garbage]).items() if value is not None}
    before = snapshot(session)
    assert_clear_400(admin_client.post(f"/staff/admin/people/{org.employee.id}", data=data))
    assert snapshot(session) == before


def test_garbage_in_a_multipart_person_form(admin_client: FlaskClient, org: Org, session: Session) -> None:
    before = snapshot(session)
    body = "".join(f'--B\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in person_form(org, name="@").items()).encode().replace(b"@", b"Erik \xc3\x28")
    response = admin_client.post(f"/staff/admin/people/{org.employee.id}", data=body + b"--B--\r\n",
                                 content_type="multipart/form-data; boundary=B")
    assert_clear_400(response)
    assert snapshot(session) == before


SIGNED_IN_GARBAGE = {
    "settings language unknown": ("/staff/settings", {"settings-language": "xx"}),
    "settings language with NUL": ("/staff/settings", {"settings-language": "sv\x00"}),
    "settings language twice": ("/staff/settings", {"settings-language": ["en", "sv"]}),
    "new password too long": ("/staff/settings", {"password-current": "x", "password-password": "p" * 5_000,
                                                  "password-confirm": "p" * 5_000}),
    "language switch unknown": ("/staff/language", {"language": "de"}),
    "language switch twice": ("/staff/language", {"language": ["en", "sv"]}),
    "language switch with NUL in next": ("/staff/language", {"language": "en", "next": "/staff/\x00"}),
    "import without files": ("/staff/admin/import", {}),
}


@pytest.mark.parametrize("garbage", SIGNED_IN_GARBAGE)
def test_garbage_in_staff_forms(garbage: str, admin_client: FlaskClient, session: Session) -> None:
    path, data = SIGNED_IN_GARBAGE[garbage]
    before = snapshot(session)
    assert_clear_400(admin_client.post(path, data=data))
    assert snapshot(session) == before


GARBAGE_URLS = {
    "search very long": "/staff/admin/people?q=" + "x" * 10_000,
    "search with NUL": "/staff/admin/people?q=Erik%00",
    "search twice": "/staff/admin/people?q=Erik&q=Ada",
    "NUL in an import token": "/staff/admin/import/abc%00def",
    "NUL in a reset token": "/staff/password/reset/abc%00def",
    "NUL on a public page": "/?lang=%00",
}


@pytest.mark.parametrize("garbage", GARBAGE_URLS)
def test_garbage_in_urls(garbage: str, admin_client: FlaskClient, session: Session) -> None:
    before = snapshot(session)
    assert_clear_400(admin_client.get(GARBAGE_URLS[garbage]))
    assert snapshot(session) == before


def test_the_audit_log_page_number_falls_back_to_the_first_page(admin_client: FlaskClient) -> None:
    for page in ("abc", "0", "-3", ""):
        assert admin_client.get(f"/staff/admin/audit?page={page}").status_code == 200


ANONYMOUS_GARBAGE = {
    "email very long": ("/staff/login", {"email": "a" * 10_000 + "@example.org", "password": "x"}),
    "email with NUL": ("/staff/login", {"email": "admin@example.org\x00", "password": "x"}),
    "email twice": ("/staff/login", {"email": ["admin@example.org", "other@example.org"], "password": "x"}),
    "password very long": ("/staff/login", {"email": "admin@example.org", "password": "x" * 100_000}),
    "password with NUL": ("/staff/login", {"email": "admin@example.org", "password": "x\x00y"}),
    "forgotten email with NUL": ("/staff/password/forgot", {"email": "admin@example.org\x00"}),
    "forgotten email very long": ("/staff/password/forgot", {"email": "a" * 10_000}),
    "forgotten email twice": ("/staff/password/forgot", {"email": ["admin@example.org", "x@example.org"]}),
    "reset password very long": ("/staff/password/reset/whatever", {"password": "x" * 5_000,
                                                                     "confirm": "x" * 5_000}),
}


@pytest.mark.parametrize("garbage", ANONYMOUS_GARBAGE)
def test_garbage_before_sign_in(garbage: str, client: FlaskClient, org: Org, session: Session, app: Flask) -> None:
    path, data = ANONYMOUS_GARBAGE[garbage]
    before = snapshot(session)
    response = client.post(path, data=data)
    if path.startswith("/staff/password/reset/"):
        # An unknown reset link is refused before the form is read.
        assert response.status_code == 400
    else:
        assert_clear_400(response)
    assert snapshot(session) == before
    assert not list(app.config["PULSE"].outbox_dir.glob("*.eml"))


@pytest.mark.parametrize("target", ["/staff/\r\nX-Injected: 1", "/staff/\nX-Injected: 1", "/staff/\x7f",
                                    "/staff/%0d%0aX-Injected:%201"])
def test_next_with_control_characters_leads_home(target: str, client: FlaskClient, org: Org) -> None:
    from tests.factories import PASSWORD

    response = client.post("/staff/login", data={"email": org.admin.email, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert "X-Injected" not in response.headers
    assert "\n" not in response.headers["Location"]
    response = client.post("/staff/language", data={"language": "en", "next": target})
    assert response.status_code == 302
    assert "X-Injected" not in response.headers
    assert "\n" not in response.headers["Location"]


IMPORT_GARBAGE = {
    "units not UTF-8": lambda: upload(b"unit_id,name,parent_id\nroot,\xff\xfe,\n", PEOPLE),
    "people with NUL": lambda: upload(UNITS, PEOPLE.replace("Ada", "A\x00da")),
    "binary file": lambda: upload(bytes(range(256)) * 10, PEOPLE),
    "empty files": lambda: upload(b"", b""),
    "NUL in a file name": lambda: upload(UNITS, PEOPLE, units_name="units\x00.csv"),
    "file name not UTF-8": lambda: upload(UNITS, PEOPLE, people_name="people-\ufffd.csv"),
    "not a csv file name": lambda: upload(UNITS, PEOPLE, units_name="units.exe"),
    "units file twice": lambda: {**upload(UNITS, PEOPLE), "units": [(io.BytesIO(UNITS.encode()), "units.csv"),
                                                                    (io.BytesIO(UNITS.encode()), "other.csv")]},
    "only one file": lambda: {"units": (io.BytesIO(UNITS.encode()), "units.csv")},
}


@pytest.mark.parametrize("garbage", IMPORT_GARBAGE)
def test_garbage_uploads(garbage: str, admin_client: FlaskClient, session: Session) -> None:
    before = snapshot(session)
    response = admin_client.post("/staff/admin/import", data=IMPORT_GARBAGE[garbage](),
                                 content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)
    assert snapshot(session) == before


@pytest.mark.parametrize("body", [b"garbage", b"--B\r\nContent-Disposition: form-data; name=\"units\"; "
                                  b"filename=\"u\xff.csv\"\r\n\r\nx\r\n--B--\r\n", b"--B\r\n" * 1000])
def test_broken_multipart_bodies(body: bytes, admin_client: FlaskClient, session: Session) -> None:
    before = snapshot(session)
    response = admin_client.post("/staff/admin/import", data=body, content_type="multipart/form-data; boundary=B")
    assert_clear_400(response)
    assert snapshot(session) == before


# --- Names are text, never markup ---------------------------------------------------------------------------

SCRIPT = '<script>alert("name")</script>'
IMAGE = "<img src=x onerror=alert(1)>"


def test_names_are_escaped_everywhere(app: Flask, client: FlaskClient, org: Org, session: Session) -> None:
    from tests.factories import make_person, make_unit

    unit = make_unit(session, "xss", IMAGE, org.team_a)
    person = make_person(session, "xss@example.org", unit=unit, name=SCRIPT)
    session.commit()
    sign_in(client, org.emails["admin"])
    client.post(f"/staff/admin/people/{person.id}",
                data={"name": SCRIPT + "!", "unit": str(unit.id), "language": "sv", "status": "active"})
    pages = ["/staff/admin/people?q=alert", f"/staff/admin/people/{person.id}", "/staff/admin/units",
             f"/staff/admin/units/{unit.id}", "/staff/admin/audit"]
    manager = app.test_client()
    sign_in(manager, org.emails["manager"])
    for client_, path in [*((client, path) for path in pages), (manager, "/staff/units"),
                          (manager, f"/staff/units/{unit.id}")]:
        html = client_.get(path).get_data(as_text=True)
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
        assert "&lt;script&gt;" in html or "&lt;img" in html, path


def test_answer_now_may_post_to_the_respondent_host_when_the_apps_run_apart(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two hosts: the staff app's pages may post a form to the respondent app's origin, and to no other."""
    from pulse.common.db import Base, Database
    from pulse.staff import create_staff_app
    from tests.conftest import make_config

    config = make_config(database_url, tmp_path, base_url="https://pulse.example.se",
                         respondent_base_url="https://svar.example.se")
    database = Database(config.database_url)
    Base.metadata.create_all(database.engine)
    policy = create_staff_app(config, database=database).test_client().get("/staff/login").headers[
        "Content-Security-Policy"]
    assert "form-action 'self' https://svar.example.se;" in policy
    database.dispose()
