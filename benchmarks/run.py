"""Run Pulse's benchmarks and write ``benchmarks/results/latest.json``.

    python -m benchmarks.run            # make bench: the full workloads
    python -m benchmarks.run --quick    # make bench-quick: small preset, under a minute

W1  answering over HTTP: the respondent app under gunicorn with the production settings (deploy/gunicorn.conf.py,
    2 workers); 16 concurrent clients; 2,000 respondents of the medium organisation, their tokens read from the
    invitation e-mails `pulse round open` wrote to the outbox. Each respondent opens the page the link opens
    (GET /r?lang=…) and sends 8 answers + a comment (POST /api/v1/answers); without JavaScript, the code form,
    the answer page (POST /r/start) and the form (POST /r/submit), on a second open round. The ceiling, in the
    same run on the same server settings: a bare Flask + SQLAlchemy app inserting one row per request. Three runs
    on SQLite and three on PostgreSQL, each on a fresh database; the median run decides.
W1R W1's API path, one run on SQLite, on the reference organisation (20,720 people): as fast as on the medium one.
W2  closing one round of the reference organisation (open the sealed pool, shuffle, store, release, audit).
W3  an administration's results dashboard on the reference organisation, cold and warm.
M   memory: every unit's dashboard of the reference organisation, 4 clients, 2 workers; resident memory per worker.
W4  the APT pack PDF of a group of the reference organisation (52 rounds of trend): the first request after the
    server starts (cold), then five more groups' packs.
W4R W4's second part: the safety representative's report for the reference organisation's largest safety area (a
    department and its units) over the last 12 months (52 weekly rounds): the page, then the PDF and the XLSX (and
    the CSV) over real HTTP, signed in as that safety representative; the goal is PDF and XLSX together in < 5 s.
W5  generating the reference organisation with 52 rounds of history (`pulse demo --size reference`).
IL  information lost by suppression (issue 7; benchmarks/information_loss.py): the share of unit totals with at
    least k respondents that are published, before (the rules) and after (least loss), on the demo's rounds 2–6 and
    on every round W5 generated, and protect_version after a re-organisation.

Every figure is the real production path: real server, real HTTP, real database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import http.client
import json
import math
import os
import platform
import queue
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import information_loss

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent
SECRET = "benchmark-secret-key-benchmark-secret-key"
PG_ADMIN_URL = os.environ.get("PULSE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
COMMENT = "Vi behöver mer tid för dokumentation när trycket är högt."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


# --- databases ---------------------------------------------------------------------------------------------


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "no PostgreSQL for this run"
        return False


def fresh_postgres(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(PG_ADMIN_URL)
    return urllib.parse.urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", "", ""))


def environment(database_url: str, instance: Path) -> dict[str, str]:
    return {**os.environ, "PULSE_ENV": "production", "PULSE_SECRET_KEY": SECRET, "PULSE_DATABASE_URL": database_url,
            "PULSE_INSTANCE_PATH": str(instance), "PULSE_MAIL_BACKEND": "file",
            "PULSE_MAIL_DIR": str(instance / "outbox"), "PULSE_BASE_URL": "http://127.0.0.1",
            "PULSE_LOG_LEVEL": "WARNING"}


def pulse_cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([str(BIN / "pulse"), *args], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pulse {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


# --- W1 ----------------------------------------------------------------------------------------------------

PREPARE_SCRIPT = """
import dataclasses, sys
from zoneinfo import ZoneInfo
from sqlalchemy import select
from pulse import create_app
from pulse.common.db import get_database, utcnow
from pulse.models import Survey
from pulse.demo import generator
from pulse.services import surveys
from pulse.scheduler import round_keys
app = create_app()
with app.app_context():
    db = get_database(app)
    config = app.config["PULSE"]
    tz = ZoneInfo(config.timezone)
    with db.session(write=True) as s:
        generator.generate(s, round_keys(), size=sys.argv[1], now=utcnow(), tz=tz, thresholds=(6, 10, 10),
                           rounds=0)
        first = s.scalar(select(Survey))
        # A second pulse to the same people: two rounds open at once, one for each answering path.
        surveys.create_survey(s, dataclasses.replace(surveys.survey_input(first), name="Andra pulsen"),
                              floors=config.thresholds, now=utcnow(), tz=tz)
        s.commit()
"""

#: The invitation link as the e-mail shows it: the respondent address, the language, the token in the fragment.
LINK = re.compile(r"(/r\?lang=(sv|en))#t=([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Invitation:
    """What a respondent's mail program shows: the page the link opens and the token in its fragment."""

    page: str
    token: str


def prepare_rounds(env: dict[str, str], size: str) -> dict[int, list[Invitation]]:
    """Generate the organisation with two pulses, open a round of each with ``pulse round open`` (the real
    mail-out, to the file backend), and read every invitation back from the outbox, per survey."""
    pulse_cli(env, "db", "upgrade")
    subprocess.run([sys.executable, "-c", PREPARE_SCRIPT, size], env=env, capture_output=True, text=True,
                   check=True)
    outbox = Path(env["PULSE_MAIL_DIR"])
    rounds: dict[int, list[Invitation]] = {}
    for survey in (1, 2):
        before = set(outbox.glob("*.eml"))
        pulse_cli(env, "round", "open", str(survey))
        rounds[survey] = [read_invitation(path) for path in sorted(set(outbox.glob("*.eml")) - before)]
    return rounds


def read_invitation(path: Path) -> Invitation:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    found = LINK.search(body.get_content() if body else "")
    if found is None:
        raise RuntimeError(f"no invitation link in {path.name}")
    return Invitation(found.group(1), found.group(3))


def question_options(port: int, invitation: Invitation) -> dict[str, list[str]]:
    """The round's questions and the values each offers, as a client learns them: from the answer page."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        status, _, page = request(conn, "POST", "/r/start", urllib.parse.urlencode(
            {"credential": invitation.token}).encode(), FORM)
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"answer page: HTTP {status}")
    options: dict[str, list[str]] = {}
    for code, value in re.findall(r'type="radio" id="[^"]*" name="q-([A-Za-z0-9-]+)" value="([^"]+)"', page.decode()):
        options.setdefault(code, []).append(value)
    return options


class Server:
    """gunicorn with Pulse's production settings (deploy/gunicorn.conf.py) and 2 workers."""

    def __init__(self, app: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "--workers", "2",
             "--bind", f"127.0.0.1:{self.port}", "--chdir", str(ROOT), app],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker (the children of the gunicorn master), from /proc."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        sizes = []
        for pid in children.read_text().split() if children.exists() else []:
            status = Path(f"/proc/{pid}/status")
            for line in status.read_text().splitlines() if status.exists() else []:
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def load(port: int, jobs: list[Any], clients: int, one: Callable[..., list[float]]) -> dict[str, Any]:
    """Run ``one(conn, job)`` for every job from ``clients`` threads, each with its own connection (reopened when
    the server closes it)."""
    work: queue.Queue[Any] = queue.Queue()
    for job in jobs:
        work.put(job)
    latencies: list[float] = []
    requests: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            try:
                job = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                timings = one(conn, job)
            except Exception as exc:  # noqa: BLE001 - counted as an error of the workload
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    errors.append(type(exc).__name__ + ": " + str(exc)[:100])
                continue
            with lock:
                latencies.append(time.perf_counter() - started)
                requests.extend(timings)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"count": len(latencies), "errors": len(errors), "error_samples": errors[:3], "seconds": elapsed,
            "per_second": len(latencies) / elapsed if elapsed else 0.0,
            "request_median_ms": statistics.median(requests) * 1000 if requests else math.inf,
            "request_p95_ms": percentile(requests, 0.95) * 1000 if requests else math.inf}


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


def request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, float, bytes]:
    started = time.perf_counter()
    conn.request(method, path, body, headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, time.perf_counter() - started, data


def expect(status: int, wanted: int, what: str) -> None:
    if status != wanted:
        raise RuntimeError(f"{what}: HTTP {status}")


def answer_values(options: dict[str, list[str]]) -> dict[str, int | None]:
    """One answer per question, spread over its scale, "prefer not to say" where offered on every fourth (the same
    for every respondent)."""
    values: dict[str, int | None] = {}
    for i, (code, offered) in enumerate(options.items()):
        numbers = [int(v) for v in offered if v != "skip"]
        values[code] = None if i % 4 == 3 and "skip" in offered else numbers[(i * 3) % len(numbers)]
    return values


def api_respondent(options: dict[str, list[str]]) -> Callable[[http.client.HTTPConnection, Invitation], list[float]]:
    """A respondent with JavaScript, as the issue measures it: the page the link opens, then the answers as JSON."""
    values = answer_values(options)

    def one(conn: http.client.HTTPConnection, invitation: Invitation) -> list[float]:
        status, page, _ = request(conn, "GET", invitation.page)
        expect(status, 200, "link page")
        body = json.dumps({"token": invitation.token, "answers": values, "comment": COMMENT}).encode()
        status, submit, _ = request(conn, "POST", "/api/v1/answers", body, JSON)
        expect(status, 201, "answers")
        return [page, submit]

    return one


def form_respondent(options: dict[str, list[str]]) -> Callable[[http.client.HTTPConnection, Invitation], list[float]]:
    """A respondent without JavaScript: the code form, the answer page it opens, the answers as a form."""
    fields = {f"q-{code}": "skip" if value is None else str(value) for code, value in answer_values(options).items()}

    def one(conn: http.client.HTTPConnection, invitation: Invitation) -> list[float]:
        status, page, _ = request(conn, "GET", invitation.page)
        expect(status, 200, "code form")
        credential = urllib.parse.urlencode({"credential": invitation.token})
        status, start, _ = request(conn, "POST", "/r/start", credential.encode(), FORM)
        expect(status, 200, "answer page")
        body = urllib.parse.urlencode({"credential": invitation.token, **fields, "comment": COMMENT}).encode()
        status, submit, _ = request(conn, "POST", "/r/submit", body, FORM)
        expect(status, 200, "submit")
        return [page, start, submit]

    return one


def baseline_request(conn: http.client.HTTPConnection, _job: int) -> list[float]:
    status, took, _ = request(conn, "POST", "/", json.dumps({"values": [4, 3, None, 5, 2, 4, 0, 3]}).encode(), JSON)
    expect(status, 201, "baseline")
    return [took]


def w1_run(backend: str, size: str, clients: int, respondents: int) -> dict[str, Any]:
    """One run: a fresh database with two open rounds; the ceiling, then both answering paths, on one server
    setup."""
    workdir = Path(tempfile.mkdtemp(prefix=f"pulse-w1-{backend}-"))
    try:
        if backend == "sqlite":
            url, base_url = f"sqlite:///{workdir / 'pulse.db'}", f"sqlite:///{workdir / 'baseline.db'}"
        else:
            url, base_url = fresh_postgres("pulse_bench"), fresh_postgres("pulse_bench_baseline")
        env = environment(url, workdir)
        invited = prepare_rounds(env, size)
        api_jobs, form_jobs = invited[1][:respondents], invited[2][:respondents]
        base_env = {**env, "PULSE_DATABASE_URL": base_url}
        subprocess.run([sys.executable, "-m", "benchmarks.baseline_app"], env=base_env, cwd=ROOT, check=True)
        server = Server("benchmarks.baseline_app:app", base_env)
        try:
            ceiling = load(server.port, list(range(len(api_jobs))), clients, baseline_request)
        finally:
            server.stop()
        server = Server("wsgi:respondent", env)
        try:
            options = question_options(server.port, form_jobs.pop())
            api = load(server.port, api_jobs, clients, api_respondent(options))
            form = load(server.port, form_jobs, clients, form_respondent(options))
        finally:
            server.stop()
        stored = count_pending(url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"ceiling": ceiling, "api": api, "form": form, "stored": stored,
            "expected": len(api_jobs) + len(form_jobs)}


def w1(backend: str, size: str, clients: int, runs: int, respondents: int) -> dict[str, Any]:
    """W1 on one database: ``runs`` runs, each with its own ceiling; the median run decides."""
    measured = [w1_run(backend, size, clients, respondents) for _ in range(runs)]
    for run in measured:
        # Respondents per second against the ceiling's requests per second: a respondent makes two requests.
        run["share"] = run["api"]["per_second"] / run["ceiling"]["per_second"] if run["ceiling"]["per_second"] \
            else 0.0
    share_goal = 0.35 if backend == "sqlite" else 0.3
    median = {
        "per_second": statistics.median(r["api"]["per_second"] for r in measured),
        "request_p95_ms": statistics.median(r["api"]["request_p95_ms"] or math.inf for r in measured),
        "share": statistics.median(r["share"] for r in measured),
        "form_per_second": statistics.median(r["form"]["per_second"] for r in measured),
        "form_request_p95_ms": statistics.median(r["form"]["request_p95_ms"] or math.inf for r in measured),
        "ceiling_per_second": statistics.median(r["ceiling"]["per_second"] for r in measured),
    }
    errors = sum(r["api"]["errors"] + r["form"]["errors"] + r["ceiling"]["errors"] for r in measured)
    complete = all(r["stored"] == r["expected"] for r in measured)
    return {"id": "W1", "backend": backend, "size": size, "clients": clients, "respondents": respondents,
            "runs": measured, "median": median, "errors": errors, "all_stored": complete,
            "goal": f"≥ 300 respondents/s, request p95 < 40 ms, share of the ceiling ≥ {share_goal} (two requests "
                    "against its one), 0 errors",
            "met": bool(median["per_second"] >= 300 and median["request_p95_ms"] < 40
                        and median["share"] >= share_goal and errors == 0 and complete)}


def count_pending(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM pending_response")).scalar() or 0)
    engine.dispose()
    return count


# --- W5, W2, W3 (one generated organisation, kept for the later workloads) -----------------------------------


def w5(size: str, workdir: Path) -> dict[str, Any]:
    env = environment(f"sqlite:///{workdir / 'pulse.db'}", workdir)
    pulse_cli(env, "db", "upgrade")
    started = time.perf_counter()
    output, peak_mb = run_measured([str(BIN / "pulse"), "demo", "--size", size], env)
    seconds = time.perf_counter() - started
    return {"id": "W5", "backend": "sqlite", "size": size, "seconds": seconds, "peak_rss_mb": peak_mb,
            "output": output.strip().splitlines()[0], "goal": "< 180 s (reference)", "met": seconds < 180}


def run_measured(command: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run a command and return its output and its peak memory (MB), measured by the child itself."""
    wrapper = ("import resource, runpy, sys; sys.argv = sys.argv[1:]; "
               "code = 0\ntry:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
               "except SystemExit as exc:\n    code = exc.code or 0\n"
               "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", wrapper, *command], env=env, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    peak = next((int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("PEAK_KIB")), 0)
    return result.stdout, peak / 1024


CLOSE_SCRIPT = """
import json, sys, time, resource
from zoneinfo import ZoneInfo
from sqlalchemy import select
from pulse import create_app
from pulse.common.db import get_database, utcnow
from pulse.models import Round, Survey
from pulse.services import answers, invitations, rounds
from pulse import scheduler
app = create_app()
mode = sys.argv[1]
with app.app_context():
    db = get_database(app)
    keys = scheduler.round_keys()
    tz = ZoneInfo(app.config["PULSE"].timezone)
    if mode == "prepare":
        with db.session(write=True) as s:
            survey = s.scalar(select(Survey))
            rnd = rounds.open_round(s, survey, keys, now=utcnow(), tz=tz)
            s.commit()
        handed = []
        invitations.mail_out(db, rnd.id, keys.token, handed.append)
        creds = [i.link for i in handed]
        import random
        rng = random.Random(1)
        with db.session(write=True) as s:
            n = 0
            for c in creds:
                if rng.random() < 0.68:
                    answers.submit(s, keys.token, c, {"OSA-WL1": rng.randint(1, 5), "OSA-SP1": rng.randint(1, 5),
                                   "OSA-VI1": 0}, "En kommentar." if rng.random() < 0.1 else None, now=utcnow())
                    n += 1
            s.commit()
        print(json.dumps({"round": rnd.id, "answers": n}))
    else:
        with db.session(write=True) as s:
            rnd = s.scalar(select(Round).where(Round.status == "open"))
            started = time.perf_counter()
            result = scheduler.close_round(s, rnd, keys, now=utcnow())
            s.commit()
        scrub_started = time.perf_counter()
        rounds.scrub_closed(db)  # part of closing: what the deleted ledger, pools and key left on disk
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "scrub_seconds": time.perf_counter() - scrub_started,
                          "answers": result.answers}))
"""


def w2(workdir: Path) -> dict[str, Any]:
    """Close one round of the reference organisation: open the sealed pool, shuffle, store, release, audit."""
    env = environment(f"sqlite:///{workdir / 'pulse.db'}", workdir)
    prepared = json.loads(subprocess.run([sys.executable, "-c", CLOSE_SCRIPT, "prepare"], env=env,
                                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    script = workdir / "close.py"
    script.write_text(CLOSE_SCRIPT)
    output, peak_mb = run_measured([str(script), "close"], env)
    closed = json.loads(output.strip().splitlines()[-1])
    return {"id": "W2", "backend": "sqlite", "answers": closed["answers"], "prepared": prepared,
            "seconds": closed["seconds"], "scrub_seconds": closed["scrub_seconds"], "peak_rss_mb": peak_mb,
            "goal": "< 10 s, peak < 1 GB",
            "met": closed["seconds"] < 10 and peak_mb < 1024}


class Browser:
    """A signed-in staff client over real HTTP (cookies, CSRF), for W3."""

    def __init__(self, port: int) -> None:
        import http.cookiejar
        import urllib.request

        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str, float]:
        import urllib.error

        started = time.perf_counter()
        try:
            with self.opener.open(self.base + path, timeout=60) as response:
                body = response.read().decode("utf-8", "replace")  # a PDF too: only its length is used
                return response.status, body, time.perf_counter() - started
        except urllib.error.HTTPError as exc:
            return exc.code, "", time.perf_counter() - started

    def sign_in(self, email: str, password: str) -> None:
        import re

        _, page, _ = self.get("/staff/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "no CSRF token on the sign-in page"
        data = urllib.parse.urlencode({"csrf_token": token.group(1), "email": email, "password": password}).encode()
        with self.opener.open(self.base + "/staff/login", data=data, timeout=60) as response:
            assert "/staff/login" not in response.url, "sign-in failed"


def w3(workdir: Path, repeats: int) -> dict[str, Any]:
    """An administration's results dashboard: overview, trends (52 rounds, charts), heatmap; cold, then warm."""
    import re

    env = environment(f"sqlite:///{workdir / 'pulse.db'}", workdir)
    found = subprocess.run([sys.executable, "-c", (
        "from pulse import create_app\nfrom pulse.common.db import get_database\nfrom sqlalchemy import select\n"
        "from pulse.models import Unit, Release, Round, Person\napp = create_app()\n"
        "with get_database(app).session() as s:\n"
        "    unit = s.scalar(select(Unit.id).where(Unit.name == 'Förvaltning 1'))\n"
        "    people = s.query(Person).filter(Person.unit_id.in_(select(Unit.id))).count()\n"
        "    rel = s.scalar(select(Release.id).join(Round).order_by(Round.number.desc()).limit(1))\n"
        "    survey = s.scalar(select(Round.survey_id).limit(1))\n"
        "    admin = s.scalar(select(Person.email).where(Person.is_admin.is_(True)))\n"
        "print(unit, rel, survey, admin)")], env=env, capture_output=True, text=True, check=True).stdout.split()
    unit, release, survey, admin = int(found[0]), int(found[1]), int(found[2]), found[3]
    server = Server("wsgi:app", env)
    try:
        client = Browser(server.port)
        client.sign_in(admin, "pulse-demo-2026")
        pages = [f"/staff/results/{release}/units/{unit}", f"/staff/results/surveys/{survey}/units/{unit}/trends",
                 f"/staff/results/{release}/units/{unit}/heatmap"]
        cold: dict[str, float] = {}
        charts: list[str] = []
        for path in pages:
            status, body, seconds = client.get(path)
            assert status == 200, (path, status)
            cold[path] = seconds
            charts += re.findall(r'src="(/staff/results/surveys/[^"]+\.svg)"', body)
        for path in charts:
            status, _, seconds = client.get(path)
            assert status == 200, (path, status)
            cold[path] = seconds
        warm: list[float] = []
        for _ in range(repeats):
            for path in pages + charts:
                status, _, seconds = client.get(path)
                assert status == 200
                warm.append(seconds)
    finally:
        server.stop()
    cold_page = max(cold[p] for p in pages)
    cold_dashboard = sum(cold.values())
    warm_p95 = percentile(warm, 0.95) * 1000
    return {"id": "W3", "backend": "sqlite", "unit": unit, "requests_per_dashboard": len(pages) + len(charts),
            "cold_slowest_page_s": cold_page, "cold_dashboard_s": cold_dashboard,
            "cold": {p: round(v, 3) for p, v in cold.items()}, "warm_median_ms": statistics.median(warm) * 1000,
            "warm_p95_ms": warm_p95, "goal": "p95 < 150 ms warm, < 1.5 s cold",
            "met": warm_p95 < 150 and cold_page < 1.5}


def w4(workdir: Path, units: int) -> dict[str, Any]:
    """The APT pack PDF of one group (issue 9): the first request after the server starts (cold: the release is not
    parsed, no chart drawn, fonts not loaded), then the packs of other groups of the same release (the release
    parsed, each pack's trend and chart new)."""
    env = environment(f"sqlite:///{workdir / 'pulse.db'}", workdir)
    found = subprocess.run([sys.executable, "-c", (
        "from pulse import create_app\nfrom pulse.common.db import get_database\nfrom sqlalchemy import select\n"
        "from pulse.models import Unit, Release, ReleaseCell, Round, Person\napp = create_app()\n"
        "with get_database(app).session() as s:\n"
        "    rel = s.scalar(select(Release.id).join(Round).order_by(Round.number.desc()).limit(1))\n"
        "    parents = set(s.scalars(select(Unit.parent_id).where(Unit.parent_id.is_not(None))))\n"
        "    cells = s.execute(select(ReleaseCell.unit_id, ReleaseCell.respondents).where(\n"
        "        ReleaseCell.release_id == rel, ReleaseCell.kind == 'total', ReleaseCell.published.is_(True))).all()\n"
        f"    groups = [u for u, n in sorted(cells, key=lambda c: -(c[1] or 0)) if u not in parents][:{units}]\n"
        "    admin = s.scalar(select(Person.email).where(Person.is_admin.is_(True)))\n"
        "print(rel, admin, *groups)")], env=env, capture_output=True, text=True, check=True).stdout.split()
    release, admin, groups = int(found[0]), found[1], [int(g) for g in found[2:]]
    assert groups, "no published group in the latest release"
    server = Server("wsgi:app", env)
    try:
        client = Browser(server.port)
        client.sign_in(admin, "pulse-demo-2026")
        timings: list[float] = []
        sizes: list[int] = []
        for unit in groups:
            status, body, seconds = client.get(f"/staff/results/{release}/units/{unit}/apt.pdf")
            assert status == 200, (unit, status)
            timings.append(seconds)
            sizes.append(len(body))
    finally:
        server.stop()
    cold, others = timings[0], timings[1:]
    return {"id": "W4", "backend": "sqlite", "release": release, "units": groups, "cold_s": cold,
            "other_units_median_s": statistics.median(others) if others else None,
            "other_units_max_s": max(others) if others else None, "pdf_kb_median": statistics.median(sizes) / 1024,
            "goal": "< 1.5 s (APT PDF of a group, cold)", "met": cold < 1.5}


W4R_SCRIPT = """
from sqlalchemy import func, select
from pulse import create_app
from pulse.common.context import passwords
from pulse.common.db import get_database
from pulse.models import Person, SafetyAreaUnit
from pulse.services import auth
from pulse.services.org import load_tree
app = create_app()
with app.app_context(), get_database(app).session(write=True) as s:
    tree = load_tree(s)
    sizes = dict(s.execute(select(Person.unit_id, func.count()).group_by(Person.unit_id)).all())
    best = max(s.execute(select(SafetyAreaUnit.person_id, SafetyAreaUnit.unit_id)).all(),
               key=lambda row: sum(sizes.get(u, 0) for u in tree.subtree({row.unit_id})))
    rep = s.get_one(Person, best.person_id)
    auth.set_password(rep, passwords(), "pulse-demo-2026")
    s.commit()
    print(rep.email, sum(sizes.get(u, 0) for u in tree.subtree({best.unit_id})))
"""


def w4_report(workdir: Path, repeats: int) -> dict[str, Any]:
    """The safety representative's report of the largest safety area over 12 months: page, PDF, XLSX, CSV."""
    env = environment(f"sqlite:///{workdir / 'pulse.db'}", workdir)
    found = subprocess.run([sys.executable, "-c", W4R_SCRIPT], env=env, capture_output=True, text=True,
                           check=True).stdout.split()
    email_address, people = found[-2], int(found[-1])
    today = dt.date.today()
    period = f"start={(today - dt.timedelta(days=365)).isoformat()}&end={today.isoformat()}"
    server = Server("wsgi:app", env)
    times: dict[str, list[float]] = {"page": [], "pdf": [], "xlsx": [], "csv": []}
    sizes: dict[str, int] = {}
    try:
        client = Browser(server.port)
        client.sign_in(email_address, "pulse-demo-2026")
        for _ in range(repeats):
            for name, path in (("page", f"/staff/safety/report?{period}"),
                               ("pdf", f"/staff/safety/report.pdf?{period}"),
                               ("xlsx", f"/staff/safety/report.xlsx?{period}"),
                               ("csv", f"/staff/safety/report.csv?{period}")):
                status, body, seconds = client.get(path)
                assert status == 200, (path, status)
                times[name].append(seconds)
                sizes[name] = len(body)
    finally:
        server.stop()
    median = {name: statistics.median(values) for name, values in times.items()}
    both = median["pdf"] + median["xlsx"]
    return {"id": "W4R", "backend": "sqlite", "people_in_area": people, "seconds": both,
            "median_s": {k: round(v, 3) for k, v in median.items()}, "sizes": sizes, "runs": repeats,
            "goal": "PDF + XLSX < 5 s", "met": both < 5}


def memory(workdir: Path, clients: int) -> dict[str, Any]:
    """Memory: every unit's dashboard (overview, trends, heatmap and their charts) of the newest release, by
    ``clients`` signed-in clients at once, on gunicorn with the production settings and 2 workers; each worker's
    resident memory after 1, 5, 20, 60, 150, 500 units and all of them."""
    import re

    env = environment(f"sqlite:///{workdir / 'pulse.db'}", workdir)
    found = subprocess.run([sys.executable, "-c", (
        "from pulse import create_app\nfrom pulse.common.db import get_database\nfrom sqlalchemy import select\n"
        "from pulse.models import Unit, Release, Round, Person\napp = create_app()\n"
        "with get_database(app).session() as s:\n"
        "    rel = s.scalar(select(Release.id).join(Round).order_by(Round.number.desc()).limit(1))\n"
        "    survey = s.scalar(select(Round.survey_id).limit(1))\n"
        "    admin = s.scalar(select(Person.email).where(Person.is_admin.is_(True)))\n"
        "    units = s.scalars(select(Unit.id).order_by(Unit.id)).all()\n"
        "print(rel, survey, admin, *units)")], env=env, capture_output=True, text=True, check=True).stdout.split()
    release, survey, admin, units = int(found[0]), int(found[1]), found[2], [int(u) for u in found[3:]]
    marks = sorted({n for n in (1, 5, 20, 60, 150, 500) if n < len(units)} | {len(units)})
    server = Server("wsgi:staff", env)
    rss: dict[int, list[float]] = {}
    failed = 0
    try:
        browsers = []
        for _ in range(clients):
            browser = Browser(server.port)
            browser.sign_in(admin, "pulse-demo-2026")
            browsers.append(browser)

        samples: list[str] = []

        def dashboard(browser: Browser, unit: int) -> int:
            bad = 0
            for path in (f"/staff/results/{release}/units/{unit}",
                         f"/staff/results/surveys/{survey}/units/{unit}/trends",
                         f"/staff/results/{release}/units/{unit}/heatmap"):
                status, body, _ = browser.get(path)
                charts = re.findall(r'src="(/staff/results/surveys/[^"]+\.svg)"', body)
                for got, where in [(status, path)] + [(browser.get(chart)[0], chart) for chart in charts]:
                    if got != 200:
                        bad += 1
                        if len(samples) < 5:
                            samples.append(f"{got} {where}")
            return bad

        done = 0
        for mark in marks:
            batch = units[done:mark]
            with ThreadPoolExecutor(clients) as pool:
                failed += sum(pool.map(dashboard, [browsers[i % clients] for i in range(len(batch))], batch))
            done = mark
            rss[mark] = server.worker_rss_mb()
            print(f"    M: {mark} units, workers {', '.join(f'{r:.0f}' for r in rss[mark])} MB", flush=True)
    finally:
        server.stop()
    peak = max(max(sizes) for sizes in rss.values())
    return {"id": "M", "backend": "sqlite", "units": len(units), "workers": 2, "clients": clients,
            "rss_mb": {str(k): [round(r) for r in v] for k, v in rss.items()}, "peak_worker_rss_mb": peak,
            "errors": failed, "error_samples": samples, "goal": "< 300 MB per worker",
            "met": peak < 300 and failed == 0}


# --- report ------------------------------------------------------------------------------------------------


def git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    return result.stdout.strip() or "unknown"


def postgres_version() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else None
    except Exception:  # noqa: BLE001
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small preset (under a minute)")
    parser.add_argument("--only", default="W1,W1R,W2,W3,W4,W4R,M,W5,IL",
                        help="comma-separated workloads (W1, W1R, W2, W3, W4, W4R, M, W5, IL); W2, W3, W4, W4R and "
                             "M generate the organisation (W5)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--keep", metavar="DIR", default=None,
                        help="generate the organisation into DIR and keep it; when DIR already holds one, reuse it "
                             "(W5 and IL are then skipped)")
    parser.add_argument("--runs", type=int, default=None, help="W1 runs per database (default 3; quick 1)")
    args = parser.parse_args()
    wanted = {w.strip().upper() for w in args.only.split(",")}
    backends = ["sqlite"] + (["postgresql"] if postgres_available() else [])
    results: list[dict[str, Any]] = []
    environment_info = {"commit": git_commit(), "python": platform.python_version(), "cpus": os.cpu_count(),
                        "machine": platform.machine(), "sqlite": sqlite3.sqlite_version,
                        "postgresql": postgres_version(), "platform": platform.platform()}

    def save() -> None:
        """Written after every workload, so a later failure (or an interrupted run) keeps what was measured."""
        report = {"generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "quick": args.quick,
                  "environment": environment_info, "workloads": results}
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")

    def measure(workload: str, title: str, work: Callable[[], dict[str, Any]]) -> None:
        """Run one workload; a failure is recorded as its result (and fails the run at the end) instead of losing
        the workloads measured before and after it."""
        print(f"{title}…", flush=True)
        try:
            results.append(work())
        except Exception as exc:  # noqa: BLE001 - reported, and the run exits with 1
            print(f"    {workload} FAILED: {type(exc).__name__}: {exc}", flush=True)
            results.append({"id": workload, "backend": "-", "failed": f"{type(exc).__name__}: {exc}", "met": False})
        save()

    if "W1" in wanted:
        for backend in backends:
            def on(b: str = backend) -> dict[str, Any]:
                return w1(b, "small" if args.quick else "medium", args.clients, args.runs or (1 if args.quick else 3),
                          250 if args.quick else 2000)

            measure("W1", f"W1 on {backend}", on)
    if "W1R" in wanted:
        measure("W1R", "W1 on the reference organisation", lambda: {**w1(
            "sqlite", "small" if args.quick else "reference", args.clients, 1, 250 if args.quick else 2000),
            "id": "W1R"})
    if wanted & {"W5", "W2", "W3", "W4", "W4R", "M"}:
        size = "small" if args.quick else "reference"
        workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="pulse-ref-"))
        generated = (workdir / "pulse.db").exists()
        try:
            if generated:
                print(f"W5 skipped: using the organisation generated earlier in {workdir}", flush=True)
                pulse_cli(environment(f"sqlite:///{workdir / 'pulse.db'}", workdir), "db", "upgrade")
            else:
                workdir.mkdir(parents=True, exist_ok=True)
                measure("W5", "W5", lambda: w5(size, workdir))
            if "IL" in wanted and not generated:  # before W3/W2 add anything: exactly the generated rounds
                measure("IL", "IL", lambda: information_loss.run(f"sqlite:///{workdir / 'pulse.db'}", size))
            if "W3" in wanted:
                measure("W3", "W3", lambda: w3(workdir, 3 if args.quick else 20))
            if "W4" in wanted:
                measure("W4", "W4", lambda: w4(workdir, 6))
            if "W4R" in wanted:
                measure("W4R", "W4R", lambda: w4_report(workdir, 1 if args.quick else 3))
            if "M" in wanted:
                measure("M", "M", lambda: memory(workdir, 4))
            if "W2" in wanted:  # last: closing a round changes the organisation the others read
                measure("W2", "W2", lambda: w2(workdir))
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
    elif "IL" in wanted:
        measure("IL", "IL (demo only)", lambda: information_loss.run(None, None))
    print()
    print(f"{'id':4} {'backend':10} {'result':78} {'baseline':30} {'goal met'}")
    for r in results:
        if "failed" in r:
            print(f"{r['id']:4} {'-':10} FAILED: {r['failed'][:100]}")
            continue
        if r["id"] == "IL":
            continue  # printed below the table
        if r["id"] in ("W1", "W1R"):
            m = r["median"]
            line = (f"{m['per_second']:7.1f} resp/s, request p95 {m['request_p95_ms']:.1f} ms, {r['errors']} errors"
                    f" (no JS: {m['form_per_second']:.0f}/s, p95 {m['form_request_p95_ms']:.0f} ms)")
            base = f"{m['ceiling_per_second']:7.1f} inserts/s, share {m['share']:.2f}"
        elif r["id"] == "W2":
            line, base = f"{r['seconds']:7.1f} s for {r['answers']} answers, peak {r['peak_rss_mb']:.0f} MB", "—"
        elif r["id"] == "W4R":
            m = r["median_s"]
            line = (f"PDF {m['pdf']:.2f} s + XLSX {m['xlsx']:.2f} s = {r['seconds']:.2f} s; page {m['page']:.2f} s, "
                    f"CSV {m['csv']:.2f} s ({r['people_in_area']} people)")
            base = "—"
        elif r["id"] == "M":
            line, base = (f"peak worker {r['peak_worker_rss_mb']:.0f} MB after dashboards of all {r['units']} units, "
                          f"{r['errors']} errors {'; '.join(r.get('error_samples', []))}"), "—"
        elif r["id"] == "W3":
            line = (f"warm p50 {r['warm_median_ms']:.0f} ms p95 {r['warm_p95_ms']:.0f} ms; cold slowest page "
                    f"{r['cold_slowest_page_s']:.2f} s")
            base = "—"
        elif r["id"] == "W4":
            line = f"APT PDF cold {r['cold_s']:.2f} s"
            if r["other_units_median_s"] is not None:
                line += (f"; {len(r['units']) - 1} more groups p50 {r['other_units_median_s']:.2f} s, max "
                         f"{r['other_units_max_s']:.2f} s")
            base = "—"
        else:
            line, base = f"{r['seconds']:7.1f} s, peak {r['peak_rss_mb']:.0f} MB ({r['size']})", "—"
        print(f"{r['id']:4} {r['backend']:10} {line:78} {base:30} {'yes' if r['met'] else 'NO'}")
    for r in results:
        if r["id"] in ("W1", "W1R"):
            print(f"\n{r['id']} on {r['backend']}, each run (respondents/s with JavaScript, share of the ceiling, "
                  "p95 ms; without JavaScript):")
            for i, run in enumerate(r["runs"], 1):
                print(f"    run {i}: ceiling {run['ceiling']['per_second']:.0f}/s; {run['api']['per_second']:.0f}/s, "
                      f"share {run['share']:.2f}, p95 {run['api']['request_p95_ms']:.1f} ms; no JS "
                      f"{run['form']['per_second']:.0f}/s, p95 {run['form']['request_p95_ms']:.1f} ms")
    for r in results:
        if r["id"] == "IL":
            print(f"\nIL  information lost, unit totals with ≥ k respondents published, before (rules) → after "
                  f"(least loss); goal {r['goal']}: {'met' if r['met'] else 'NOT met'}")
            for line in information_loss.summary_lines(r):
                print(f"    {line}")
    print(f"\nWritten to {RESULTS / 'latest.json'}")
    if any("failed" in r for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
