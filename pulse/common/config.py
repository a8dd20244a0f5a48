"""Typed configuration, read from ``PULSE_*`` environment variables and validated at start-up.

Nothing here falls back to a built-in secret: a production start without ``PULSE_SECRET_KEY`` fails,
and development keeps a random secret of its own in the instance folder.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import getaddresses
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Env = Literal["development", "production", "test"]
MailBackend = Literal["smtp", "file", "console"]
SmtpSecurity = Literal["none", "starttls", "tls"]
#: The port each kind of SMTP security is usually served on (RFC 8314, RFC 6409).
SMTP_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}

#: The lowest thresholds allowed outside tests (docs/ANONYMITY.md, "Thresholds").
FLOOR_MIN_GROUP_SIZE = 5
DEFAULT_MIN_GROUP_SIZE = 6
DEFAULT_MIN_DIST_SIZE = 10
DEFAULT_MIN_COMMENT_SIZE = 10

#: Where the repository keeps its instance folder unless ``PULSE_INSTANCE_PATH`` says otherwise.
DEFAULT_INSTANCE_PATH = Path(__file__).resolve().parent.parent.parent / "instance"


class ConfigError(Exception):
    """The environment describes a configuration Pulse refuses to start with."""


@dataclass(frozen=True)
class Thresholds:
    """Minimum group sizes for anything published (see docs/ANONYMITY.md, "Thresholds")."""

    #: ``k``: respondents behind any published number.
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    #: ``k_dist``: respondents behind a distribution or a share per answer option.
    min_dist_size: int = DEFAULT_MIN_DIST_SIZE
    #: ``k_comments``: respondents at a node before any comment from it is shown.
    min_comment_size: int = DEFAULT_MIN_COMMENT_SIZE

    def validate(self, *, floor: int = FLOOR_MIN_GROUP_SIZE) -> None:
        """Raise :class:`ConfigError` when a threshold is below its floor."""
        if self.min_group_size < floor:
            raise ConfigError(
                f"PULSE_MIN_GROUP_SIZE is {self.min_group_size}; it may not be lower than {floor}, "
                "or single people could be recognised in published results."
            )
        if self.min_dist_size < self.min_group_size:
            raise ConfigError(
                f"PULSE_MIN_DIST_SIZE is {self.min_dist_size}; it may not be lower than "
                f"PULSE_MIN_GROUP_SIZE ({self.min_group_size})."
            )
        if self.min_comment_size < self.min_group_size:
            raise ConfigError(
                f"PULSE_MIN_COMMENT_SIZE is {self.min_comment_size}; it may not be lower than "
                f"PULSE_MIN_GROUP_SIZE ({self.min_group_size})."
            )


@dataclass(frozen=True)
class MailConfig:
    """Outgoing mail. ``file`` writes ``.eml`` files, ``console`` prints, ``smtp`` sends."""

    backend: MailBackend = "file"
    sender: str = "Pulse <pulse@localhost>"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: SmtpSecurity = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 30.0
    #: Folder for the ``file`` backend; defaults to ``<instance>/outbox``.
    file_dir: Path | None = None

    def validate(self) -> None:
        """Raise :class:`ConfigError` for settings that cannot work or would be unsafe."""
        if self.backend not in ("smtp", "file", "console"):
            raise ConfigError(f"PULSE_MAIL_BACKEND must be smtp, file or console, not {self.backend!r}.")
        # Exactly one address, so the sender cannot turn into a list or carry extra headers.
        addresses = getaddresses([self.sender])
        if len(addresses) != 1 or "@" not in addresses[0][1] or any(c in self.sender for c in "\r\n"):
            raise ConfigError(f"PULSE_MAIL_FROM must be one address like 'Pulse <pulse@example.se>', "
                              f"not {self.sender!r}.")
        if self.smtp_security not in ("none", "starttls", "tls"):
            raise ConfigError("PULSE_SMTP_SECURITY must be none, starttls or tls.")
        if self.backend != "smtp":
            return
        if not self.smtp_host:
            raise ConfigError("PULSE_MAIL_BACKEND is smtp, so PULSE_SMTP_HOST must be set.")
        if not 0 < self.smtp_port < 65536:
            raise ConfigError(f"PULSE_SMTP_PORT must be between 1 and 65535, not {self.smtp_port}.")
        if self.smtp_timeout <= 0:
            raise ConfigError("PULSE_SMTP_TIMEOUT must be a positive number of seconds.")
        if self.smtp_username and self.smtp_security == "none":
            raise ConfigError("PULSE_SMTP_USERNAME is set but PULSE_SMTP_SECURITY is none: the password would "
                              "cross the network unencrypted. Use starttls or tls.")


@dataclass(frozen=True)
class Config:
    """Everything Pulse reads from its environment, checked once at start-up."""

    env: Env
    secret_key: str
    database_url: str
    instance_path: Path
    base_url: str = "http://127.0.0.1:5000"
    #: Where the respondent app and the staff app are reached, when they run on two hosts (default: base_url).
    respondent_base_url: str = ""
    staff_base_url: str = ""
    thresholds: Thresholds = field(default_factory=Thresholds)
    mail: MailConfig = field(default_factory=MailConfig)
    timezone: str = "Europe/Stockholm"
    #: Minutes of inactivity before a staff session ends.
    session_idle_minutes: int = 30
    #: Hours after sign-in before a staff session ends regardless of activity.
    session_max_hours: int = 12
    #: Largest request body accepted (uploads included), in bytes.
    max_upload_bytes: int = 5 * 1024 * 1024
    #: Failed sign-ins per e-mail address (and per client) within ``login_window_seconds``.
    login_max_failures: int = 5
    login_window_seconds: int = 900
    password_reset_minutes: int = 60
    #: Days after a round's first release when its raw answers and unreleased comments are deleted.
    retention_days: int = 30
    #: argon2id cost; tests lower it so the suite stays fast.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    log_level: str = "INFO"
    #: Reverse proxies in front of Pulse whose X-Forwarded-For / X-Forwarded-Proto are trusted (0: none).
    trusted_proxies: int = 0

    @property
    def cookie_secure(self) -> bool:
        """Send the staff cookie over HTTPS only when the app is served over HTTPS."""
        return urlsplit(self.base_url).scheme == "https"

    @property
    def respondent_url(self) -> str:
        """The respondent app's address (answer links, the privacy page)."""
        return self.respondent_base_url or self.base_url

    @property
    def staff_url(self) -> str:
        """The staff app's address (sign-in links)."""
        return self.staff_base_url or self.base_url

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def outbox_dir(self) -> Path:
        return self.mail.file_dir or self.instance_path / "outbox"

    def with_overrides(self, **changes: object) -> Config:
        """A copy with some fields replaced (used by tests and the CLI)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def validate(self) -> None:
        """Refuse configurations that would be unsafe or cannot work."""
        if self.env not in ("development", "production", "test"):
            raise ConfigError(f"PULSE_ENV must be development, production or test, not {self.env!r}.")
        if not self.secret_key:
            raise ConfigError("PULSE_SECRET_KEY must be set (at least 32 random characters).")
        if self.is_production and len(self.secret_key) < 32:
            raise ConfigError("PULSE_SECRET_KEY is too short: use at least 32 random characters.")
        self.thresholds.validate(floor=1 if self.env == "test" else FLOOR_MIN_GROUP_SIZE)
        for name, url in (("PULSE_BASE_URL", self.base_url), ("PULSE_RESPONDENT_URL", self.respondent_url),
                          ("PULSE_STAFF_URL", self.staff_url)):
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                raise ConfigError(f"{name} must be an http(s) address, not {url!r}.")
        if not self.database_url.startswith(("sqlite", "postgresql")):
            raise ConfigError("PULSE_DATABASE_URL must be a sqlite:/// or postgresql:// address.")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"PULSE_TIMEZONE {self.timezone!r} is not a known time zone.") from exc
        self.mail.validate()
        if self.is_production and self.mail.backend == "smtp" and self.mail.sender.endswith("@localhost>"):
            raise ConfigError("Set PULSE_MAIL_FROM to a real sender address (e.g. 'Pulse <pulse@example.se>'): "
                              "mail servers reject or filter mail from @localhost.")
        if not 0 <= self.trusted_proxies <= 5:
            raise ConfigError("PULSE_TRUSTED_PROXIES must be a number of proxies from 0 to 5.")
        for name in ("session_idle_minutes", "session_max_hours", "max_upload_bytes", "login_max_failures",
                     "login_window_seconds", "password_reset_minutes", "retention_days"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"PULSE_{name.upper()} must be a positive number.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read and validate the configuration from ``PULSE_*`` variables.

        :raises ConfigError: when a value is malformed, unsafe, or missing in production.
        """
        env_vars = os.environ if environ is None else environ
        reader = _Reader(env_vars)
        env = reader.text("PULSE_ENV", "production")
        instance_path = Path(reader.text("PULSE_INSTANCE_PATH", str(DEFAULT_INSTANCE_PATH))).resolve()
        secret = reader.text("PULSE_SECRET_KEY", "")
        if not secret and env == "development":
            secret = _development_secret(instance_path)
        default_db = f"sqlite:///{instance_path / 'pulse.db'}"
        security = reader.text("PULSE_SMTP_SECURITY", "starttls")
        mail = MailConfig(
            backend=reader.text("PULSE_MAIL_BACKEND", "smtp" if env == "production" else "file"),  # type: ignore[arg-type]
            sender=reader.text("PULSE_MAIL_FROM", "Pulse <pulse@localhost>"),
            smtp_host=reader.text("PULSE_SMTP_HOST", ""),
            # Implicit TLS has its own port (465); assuming 587 would hang in a TLS handshake with a server
            # that waits for EHLO.
            smtp_port=reader.integer("PULSE_SMTP_PORT", SMTP_DEFAULT_PORTS.get(security, 587)),
            smtp_security=security,  # type: ignore[arg-type]
            smtp_username=reader.text("PULSE_SMTP_USERNAME", ""),
            smtp_password=reader.text("PULSE_SMTP_PASSWORD", ""),
            smtp_timeout=float(reader.integer("PULSE_SMTP_TIMEOUT", 30)),
            file_dir=Path(d).resolve() if (d := reader.text("PULSE_MAIL_DIR", "")) else None,
        )
        config = cls(
            env=env,  # type: ignore[arg-type]
            secret_key=secret,
            database_url=normalise_database_url(reader.text("PULSE_DATABASE_URL", default_db)),
            instance_path=instance_path,
            base_url=reader.text("PULSE_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
            respondent_base_url=reader.text("PULSE_RESPONDENT_URL", "").rstrip("/"),
            staff_base_url=reader.text("PULSE_STAFF_URL", "").rstrip("/"),
            thresholds=Thresholds(
                min_group_size=reader.integer("PULSE_MIN_GROUP_SIZE", DEFAULT_MIN_GROUP_SIZE),
                min_dist_size=reader.integer("PULSE_MIN_DIST_SIZE", DEFAULT_MIN_DIST_SIZE),
                min_comment_size=reader.integer("PULSE_MIN_COMMENT_SIZE", DEFAULT_MIN_COMMENT_SIZE),
            ),
            mail=mail,
            timezone=reader.text("PULSE_TIMEZONE", "Europe/Stockholm"),
            session_idle_minutes=reader.integer("PULSE_SESSION_IDLE_MINUTES", 30),
            session_max_hours=reader.integer("PULSE_SESSION_MAX_HOURS", 12),
            max_upload_bytes=reader.integer("PULSE_MAX_UPLOAD_BYTES", 5 * 1024 * 1024),
            login_max_failures=reader.integer("PULSE_LOGIN_MAX_FAILURES", 5),
            login_window_seconds=reader.integer("PULSE_LOGIN_WINDOW_SECONDS", 900),
            password_reset_minutes=reader.integer("PULSE_PASSWORD_RESET_MINUTES", 60),
            retention_days=reader.integer("PULSE_RETENTION_DAYS", 30),
            log_level=reader.text("PULSE_LOG_LEVEL", "INFO").upper(),
            trusted_proxies=reader.integer("PULSE_TRUSTED_PROXIES", 0),
        )
        config.validate()
        return config


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the address names."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        value = self._environ.get(name)
        return default if value is None or value.strip() == "" else value.strip()

    def integer(self, name: str, default: int) -> int:
        raw = self._environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None


def _development_secret(instance_path: Path) -> str:
    """Create (once) and read a random secret kept in the instance folder for development."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # Write a private temporary file, then link it into place: several workers starting at once
        # all end up reading the same complete secret.
        tmp = instance_path / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
