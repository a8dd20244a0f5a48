"""The shipped deployment files (deploy/): gunicorn's configuration run for real, and the promises the nginx
configurations and the environment file make, checked against the code."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pulse.common.config import Config, ConfigError
from tests.smtpserver import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SECRET = "deploy-test-secret-that-is-long-enough-for-production"


def _settings_read_by_config() -> set[str]:
    return set(re.findall(r'"(PULSE_[A-Z_]+)"', (ROOT / "pulse" / "common" / "config.py").read_text()))


def _env_example() -> dict[str, str]:
    """The example as systemd and deploy/pulse-cli see it: sourced by a POSIX shell."""
    output = subprocess.run(["sh", "-c", 'set -a; . "$0"; set +a; env -0', str(DEPLOY / "pulse.env.example")],
                            capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]}).stdout
    return dict(item.split("=", 1) for item in output.split("\0") if item.startswith("PULSE_"))


def test_the_environment_example_names_every_setting_and_is_a_valid_configuration() -> None:
    text = (DEPLOY / "pulse.env.example").read_text()
    named = set(re.findall(r"^#?(PULSE_[A-Z_]+)=", text, re.MULTILINE))
    assert named == _settings_read_by_config()
    values = _env_example()
    assert values["PULSE_MAIL_FROM"] == "Pulse <pulse@example.se>"
    # As shipped it refuses to start (no secret); with one it is a configuration Pulse accepts.
    with pytest.raises(ConfigError, match="PULSE_SECRET_KEY"):
        Config.from_env(values)
    config = Config.from_env({**values, "PULSE_SECRET_KEY": SECRET})
    assert config.is_production and config.cookie_secure
    # nginx's body limit is the app's default upload limit.
    assert config.max_upload_bytes == 5 * 1024 * 1024


@pytest.mark.parametrize("name", ["pulse.conf", "pulse-two-hosts.conf"])
def test_nginx_logs_no_addresses_or_paths(name: str) -> None:
    """Every access log is off or uses a format without the client's address, the path, the query or headers; the
    body limit matches PULSE_MAX_UPLOAD_BYTES; X-Forwarded-For is overwritten, never appended."""
    conf = (DEPLOY / "nginx" / name).read_text()
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())
    formats = dict(re.findall(r"log_format\s+(\S+)\s+'([^;]*)';", code))
    assert formats, "a log format without addresses is defined"
    for fields in formats.values():
        assert not re.search(r"\$(remote_|realip|binary_remote|request\b|request_uri|uri|args|query|http_|"
                             r"proxy_add_x_forwarded_for)", fields), fields
    logs = re.findall(r"access_log\s+([^;]+);", code)
    assert logs
    for log in logs:
        assert log == "off" or log.split()[-1] in formats, log
    assert "client_max_body_size 5m;" in code
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in code
    assert "$proxy_add_x_forwarded_for" not in code
    assert "Strict-Transport-Security" in code


def test_nginx_sends_the_answering_paths_to_the_respondent_app_unlogged() -> None:
    conf = (DEPLOY / "nginx" / "pulse.conf").read_text()
    server = conf[conf.index("listen 443"):]
    assert re.search(r"^    access_log off;", server, re.MULTILINE), "the HTTPS server logs nothing by default"
    for location in ("location /r ", "location = /api/v1/answers ", "location /static/ ", "location = / ",
                     "location /box "):
        block = server[server.index(location):]
        block = block[:block.index("}")]
        assert "proxy_pass http://pulse_respondent;" in block and "access_log" not in block, location
    for location in ("location /staff ", "location /api/v1/ "):
        block = server[server.index(location):]
        assert "proxy_pass http://pulse_staff;" in block[:block.index("}")]


def _gunicorn_setting(name: str) -> object:
    settings: dict[str, object] = {}
    exec((DEPLOY / "gunicorn.conf.py").read_text(), settings)  # noqa: S102 - our own configuration file
    return settings[name]


@pytest.mark.parametrize("name", ["pulse.conf", "pulse-two-hosts.conf"])
def test_nginx_reuses_connections_and_closes_them_before_gunicorn_does(name: str) -> None:
    """Each upstream keeps connections alive (HTTP/1.1, no Connection header passed on) and closes an idle one
    before gunicorn would: otherwise a POST sent on a connection gunicorn is closing fails with 502."""
    conf = (DEPLOY / "nginx" / name).read_text()
    upstreams = re.findall(r"upstream \w+ \{(.*?)\}", conf, re.DOTALL)
    assert len(upstreams) == 2
    assert _gunicorn_setting("worker_class") == "gthread"
    for block in upstreams:
        assert re.search(r"^\s*keepalive \d+;", block, re.MULTILINE)
        timeout = re.search(r"^\s*keepalive_timeout (\d+)s;", block, re.MULTILINE)
        assert timeout and int(timeout.group(1)) < int(str(_gunicorn_setting("keepalive")))
    proxied = conf.count("proxy_pass http://pulse_")
    assert proxied and conf.count("proxy_http_version 1.1;") >= conf.count("server {") - 1
    assert conf.count('proxy_set_header Connection "";') == conf.count("proxy_http_version 1.1;")


def test_systemd_units_run_the_shipped_configuration() -> None:
    units = DEPLOY / "systemd"
    for name, entry in (("pulse.service", "wsgi:app"), ("pulse-respondent.service", "wsgi:respondent"),
                        ("pulse-staff.service", "wsgi:staff")):
        text = (units / name).read_text()
        assert re.search(r"^ExecStart=/srv/pulse/\.venv/bin/gunicorn --config /srv/pulse/deploy/gunicorn\.conf\.py "
                         rf"--bind 127\.0\.0\.1:\d+ {entry}$", text, re.MULTILINE), name
        assert "EnvironmentFile=/etc/pulse/pulse.env" in text
    assert "ExecStart=/srv/pulse/.venv/bin/pulse tick\n" in (units / "pulse-tick.service").read_text()
    assert "OnCalendar=minutely" in (units / "pulse-tick.timer").read_text()


def _request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers or {}),  # noqa: S310
                                    timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_gunicorn_with_the_shipped_configuration(tmp_path: Path) -> None:
    """Served by gunicorn with deploy/gunicorn.conf.py (as the systemd units do): no access log, and each client
    counted under the address nginx gives in X-Forwarded-For — so twenty mistyped codes from one client pause that
    client, not everyone behind the proxy."""
    env = {"PATH": os.environ["PATH"], "PULSE_ENV": "production", "PULSE_SECRET_KEY": SECRET,
           "PULSE_INSTANCE_PATH": str(tmp_path / "instance"), "PULSE_BASE_URL": "https://pulse.example.se",
           "PULSE_MAIL_BACKEND": "file", "PULSE_TRUSTED_PROXIES": "1", "MPLCONFIGDIR": str(tmp_path / "mpl")}
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "pulse"), "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(  # noqa: S603
            [str(bin_dir / "gunicorn"), "--config", str(DEPLOY / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "wsgi:app"], env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _request(f"{base}/healthz") == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(log.read_text())

        def start(client: str) -> int:
            return _request(f"{base}/r/start", b"credential=NOT-A-CODE",
                            {"X-Forwarded-For": client, "Content-Type": "application/x-www-form-urlencoded"})

        assert [start("203.0.113.7") for _ in range(20)] == [404] * 20
        assert start("203.0.113.7") == 429
        assert start("203.0.113.8") == 404

        # Connections are kept alive: three requests, one socket (what nginx's upstream keepalive relies on).
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        for path in ("/r", "/healthz"):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert response.status == 200 and response.getheader("Connection", "").lower() != "close"
        assert conn.sock is sock and sock is not None
        conn.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    written = log.read_text()
    assert "/r/start" not in written and "203.0.113" not in written and "/healthz" not in written
