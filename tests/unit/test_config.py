"""Configuration: validation and defaults of the mail settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulse.common.config import Config, ConfigError, MailConfig

ENV = {"PULSE_ENV": "test", "PULSE_SECRET_KEY": "x" * 40, "PULSE_DATABASE_URL": "sqlite://",
       "PULSE_MAIL_BACKEND": "smtp", "PULSE_SMTP_HOST": "mail.example.se"}


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("tls", 465), ("none", 25)])
def test_the_default_smtp_port_follows_the_security(security: str, port: int, tmp_path: Path) -> None:
    config = Config.from_env({**ENV, "PULSE_INSTANCE_PATH": str(tmp_path), "PULSE_SMTP_SECURITY": security})
    assert config.mail.smtp_port == port
    explicit = Config.from_env({**ENV, "PULSE_INSTANCE_PATH": str(tmp_path), "PULSE_SMTP_SECURITY": security,
                                "PULSE_SMTP_PORT": "2525"})
    assert explicit.mail.smtp_port == 2525


@pytest.mark.parametrize(("changes", "complaint"), [
    ({"smtp_security": "none", "smtp_username": "pulse"}, "unencrypted"),
    ({"sender": "pulse@example.se, boss@example.se"}, "PULSE_MAIL_FROM"),
    ({"sender": "Pulse"}, "PULSE_MAIL_FROM"),
    ({"sender": "Pulse <pulse@example.se>\nBcc: x@example.se"}, "PULSE_MAIL_FROM"),
    ({"smtp_timeout": 0}, "PULSE_SMTP_TIMEOUT"),
    ({"smtp_port": 0}, "PULSE_SMTP_PORT"),
    ({"smtp_host": ""}, "PULSE_SMTP_HOST"),
    ({"smtp_security": "ssl"}, "PULSE_SMTP_SECURITY"),
])
def test_unusable_or_unsafe_mail_settings_are_refused(changes: dict[str, object], complaint: str) -> None:
    config = MailConfig(**{"backend": "smtp", "smtp_host": "mail.example.se", **changes})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=complaint):
        config.validate()


def test_valid_mail_settings_pass() -> None:
    MailConfig().validate()
    MailConfig(backend="smtp", smtp_host="mail.example.se", smtp_username="pulse", smtp_password="x",
               sender="Pulse – Företaget <pulse@företag.se>").validate()


def test_production_smtp_needs_a_real_sender() -> None:
    from pulse.common.config import Config, ConfigError

    env = {"PULSE_ENV": "production", "PULSE_SECRET_KEY": "x" * 40, "PULSE_SMTP_HOST": "smtp.example.se"}
    with pytest.raises(ConfigError, match="PULSE_MAIL_FROM"):
        Config.from_env(env)
    assert Config.from_env({**env, "PULSE_MAIL_FROM": "Pulse <pulse@example.se>"}).mail.smtp_host == "smtp.example.se"


def test_the_default_instance_folder_is_the_repository_s() -> None:
    """`make run` keeps its SQLite file, secret and outbox in instance/ at the top of the repository (.gitignore)."""
    from pathlib import Path

    from pulse.common.config import DEFAULT_INSTANCE_PATH

    root = Path(__file__).resolve().parent.parent.parent
    assert root / "instance" == DEFAULT_INSTANCE_PATH
    assert "instance/" in (root / ".gitignore").read_text().split()
