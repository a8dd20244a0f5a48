"""A real SMTP server on loopback (aiosmtpd) and a self-signed certificate for it, for the mail tests."""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"
USERNAME = "pulse"
#: The server takes either password; smtplib alone cannot send the Swedish one.
PASSWORD = "smtp-lösenord-åäö"
ASCII_PASSWORD = "smtp-password"
#: The server refuses recipients whose address starts with this.
REFUSED = "unknown"


@dataclass
class Recorder:
    """The aiosmtpd handler: keeps every envelope, refuses some recipients, can answer QUIT badly."""

    envelopes: list[Any] = field(default_factory=list)
    #: The session of each message (``ssl`` is set after STARTTLS, ``authenticated`` after AUTH).
    sessions: list[Any] = field(default_factory=list)
    quit_reply: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address.startswith(REFUSED):
            # Real servers quote the address back; MailError must not pass that on.
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        self.sessions.append(session)
        return "250 2.0.0 Ok: queued"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str | None:  # noqa: N802
        return self.quit_reply or "221 Bye"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.original_content, policy=email.policy.default)  # type: ignore[misc]
                for e in self.envelopes]


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode()
          and auth_data.password in (PASSWORD.encode(), ASCII_PASSWORD.encode()))
    # handled=False: aiosmtpd itself answers "535" to a failure.
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path
    pem: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate only (hostname checks stay on)."""
        return ssl.create_default_context(cadata=self.pem)


def make_certificate(folder: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pulse test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(pem)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Certificate(cert_file, key_file, pem.decode())


def free_port() -> int:
    """A port nobody listens on right now (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    port: int
    recorder: Recorder


@contextmanager
def smtp_server(*, certificate: Certificate | None = None, implicit_tls: bool = False,
                auth: bool = False) -> Iterator[Server]:
    """Run an SMTP server on loopback.

    With ``certificate`` it offers STARTTLS (or, with ``implicit_tls``, speaks TLS from the first byte).
    With ``auth`` it requires AUTH, and offers it only over TLS.
    """
    recorder = Recorder()
    kwargs: dict[str, Any] = {"enable_SMTPUTF8": True}
    if certificate is not None:
        if implicit_tls:
            kwargs["ssl_context"] = certificate.server_context()
        else:
            kwargs["tls_context"] = certificate.server_context()
    if auth:
        # aiosmtpd only knows about TLS it started itself (STARTTLS); implicit TLS is encrypted all the same.
        kwargs.update(authenticator=_authenticate, auth_required=True, auth_require_tls=not implicit_tls)
    controller = Controller(recorder, hostname=HOST, port=free_port(), **kwargs)
    controller.start()
    try:
        yield Server(controller.port, recorder)
    finally:
        controller.stop()
