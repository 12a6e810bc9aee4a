"""A real `redis-server` for the tests, started from PATH in a temporary directory.

The Redis store is tested against the real server, not a fake, because what
matters is how it behaves when Redis itself restarts, refuses a command or
holds something unexpected.

`RedisServer(..., tls=True)` speaks TLS only, as a managed Redis behind a
`rediss://` URL does, with a throwaway CA and server certificate of its own.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import redis
from cryptography import x509  # installed with the Teams SDK (msal needs it)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from redis.backoff import NoBackoff
from redis.retry import Retry

MISSING = ("redis-server was not found on PATH. The Redis store's tests need a real Redis: "
           "install it (apt-get install redis-server, brew install redis). REDIS_URL can "
           "point most of them at another Redis; the restart tests always start their own.")


class RedisServer:
    """One redis-server process that can be stopped and started again on the same port.

    `persistent` turns on the append-only file, fsynced on every write, so a
    restart (even a kill) brings back everything that was written.

    `tls` makes it listen for TLS only (plain connections are refused), with
    certificates from `make_certificates` in `directory/tls`; `url` is then a
    `rediss://` URL that trusts the test's CA through `ssl_ca_certs`.
    """

    def __init__(self, directory: Path, persistent: bool = False, tls: bool = False) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise FileNotFoundError(MISSING)
        self.executable = executable
        self.directory = directory
        self.persistent = persistent
        self.port = 0
        self.tls = make_certificates(directory / "tls") if tls else None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={quote(str(self.tls.ca))}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.port:
            self._launch()
            return
        for _ in range(5):  # another process may take the free port before redis binds it
            self.port = _free_port()
            try:
                self._launch()
                return
            except RuntimeError:
                continue
        raise RuntimeError(f"redis-server did not start; see {self.log}")

    def stop(self, kill: bool = False) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        process.wait()

    def restart(self, kill: bool = False) -> None:
        """Stop and start on the same port and directory, as an operator's restart would."""
        self.stop(kill=kill)
        self.start()

    @property
    def log(self) -> Path:
        return self.directory / "redis.log"

    def _launch(self) -> None:
        if self.tls is not None:
            listen = ["--port", "0", "--tls-port", str(self.port), *self.tls.server_args()]
        else:
            listen = ["--port", str(self.port)]
        args = [self.executable, *listen, "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--logfile", str(self.log),
                "--daemonize", "no", "--save", ""]
        if self.persistent:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1,
                                      retry=Retry(NoBackoff(), 0))
        try:
            # Until it answers or exits; a server that can neither is a broken
            # machine, not something a timeout here would explain better.
            while True:
                if self._process.poll() is not None:
                    self._process = None
                    raise RuntimeError(f"redis-server exited at start; see {self.log}")
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError):
                    time.sleep(0.01)
        finally:
            client.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class TlsFiles:
    """A CA certificate, and a server certificate it signed with that server's key (PEM)."""

    ca: Path
    cert: Path
    key: Path

    def server_args(self) -> list[str]:
        """redis-server's TLS options; clients need no certificate of their own."""
        return ["--tls-cert-file", str(self.cert), "--tls-key-file", str(self.key),
                "--tls-ca-cert-file", str(self.ca), "--tls-auth-clients", "no"]


def make_certificates(directory: Path) -> TlsFiles:
    """A throwaway CA, and a certificate it signed for 127.0.0.1 and localhost.

    Each call makes a new CA, with a name of its own, so a second call gives a
    CA that does not vouch for the first one's server. Valid from an hour ago
    for a week: no test runs that long, and a clock a little off does not matter.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            f"Touchpoint test CA {uuid.uuid4().hex[:8]}")])
    ca = (
        _certificate(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (
        _certificate(name, ca_name, key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(ca=directory / "ca.pem", cert=directory / "server.pem",
                     key=directory / "server-key.pem")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return files


def _certificate(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey,
                 now: dt.datetime) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=7)))
