"""A real `redis-server` for the tests, started from PATH in a temporary directory.

The Redis store is tested against the real server, not a fake, because what
matters is how it behaves when Redis itself restarts, refuses a command or
holds something unexpected.

`RedisServer(..., tls=True)` speaks TLS only, as a managed Redis behind a
`rediss://` URL does, with a throwaway CA and server certificate of its own.

`SentinelGroup` is a primary, a replica and three sentinels watching them;
`ClusterNodes` is a three-node Redis Cluster: the topologies managed Redis
offers for failover and for size.
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
from collections.abc import Callable, Iterator, Sequence
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

    def __init__(self, directory: Path, persistent: bool = False, tls: bool = False,
                 args: Sequence[str] = ()) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise FileNotFoundError(MISSING)
        self.executable = executable
        self.directory = directory
        self.persistent = persistent
        self.args = list(args)
        """More redis-server options, e.g. `--replicaof` or `--cluster-enabled yes`."""
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

    @property
    def pid(self) -> int:
        """The running server's process id."""
        assert self._process is not None, "not running"
        return self._process.pid

    def command(self) -> list[str]:
        """The redis-server command line, for this port."""
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
        return args + self.args

    def _launch(self) -> None:
        self._process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL,
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


class Sentinel(RedisServer):
    """One sentinel watching `service` on a primary, deciding failover with its peers.

    `down_after` (ms) is how long the primary must be silent before it is taken
    for dead: low here, so a failover takes about a second.
    """

    def __init__(self, directory: Path, service: str, primary: RedisServer,
                 down_after: int = 300) -> None:
        super().__init__(directory)
        self.service = service
        self.primary = primary
        self.down_after = down_after
        self._written = 0

    def command(self) -> list[str]:
        config = self.directory / "sentinel.conf"
        if self._written != self.port:  # a restart keeps what the sentinel wrote there since
            self._written = self.port
            config.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"logfile {self.log}\n"
                f"sentinel monitor {self.service} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.service} {self.down_after}\n"
                f"sentinel failover-timeout {self.service} 3000\n"
                f"sentinel parallel-syncs {self.service} 1\n")
        return [self.executable, str(config), "--sentinel"]


class SentinelGroup:
    """A primary, one replica of it, and three sentinels (quorum two) watching them."""

    def __init__(self, directory: Path, service: str = "touchpoint", *,
                 persistent: bool = False) -> None:
        self.directory = directory
        self.service = service
        self.primary = RedisServer(_folder(directory, "primary"), persistent=persistent)
        self.replica = RedisServer(_folder(directory, "replica"), persistent=persistent)
        self.sentinels = [Sentinel(_folder(directory, f"sentinel{i}"), service, self.primary)
                          for i in range(3)]

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", s.port) for s in self.sentinels]

    @property
    def setting(self) -> str:
        """`REDIS_SENTINELS` for this group."""
        return ",".join(f"{host}:{port}" for host, port in self.addresses)

    def start(self) -> None:
        self.primary.start()
        self.replica.args = ["--replicaof", "127.0.0.1", str(self.primary.port)]
        self.replica.start()
        _until(lambda: _info(self.primary, "replication").get("connected_slaves") == 1
               and _info(self.replica, "replication").get("master_link_status") == "up")
        for sentinel in self.sentinels:
            sentinel.start()
        _until(lambda: all(self._sentinel_sees_everyone(s) for s in self.sentinels))

    def stop(self) -> None:
        for server in (*self.sentinels, self.replica, self.primary):
            server.stop()

    def current_primary(self) -> int:
        """The port the sentinels name as the primary now."""
        with _client(self.sentinels[0]) as client:
            _, port = client.sentinel_get_master_addr_by_name(self.service)
        return int(port)

    def replicated(self) -> None:
        """Wait until the replica has every write the primary had when this was called."""
        primary, replica = self._roles()
        offset = int(str(_info(primary, "replication")["master_repl_offset"]))
        _until(lambda: int(str(_info(replica, "replication").get("slave_repl_offset", -1)))
               >= offset)

    def _roles(self) -> tuple[RedisServer, RedisServer]:
        if self.current_primary() == self.primary.port:
            return self.primary, self.replica
        return self.replica, self.primary

    def kill_primary(self) -> RedisServer:
        """SIGKILL the primary and wait until the sentinels have promoted the replica."""
        old, new = self._roles()
        old.stop(kill=True)
        _until(lambda: all(self._names(s, new.port) for s in self.sentinels)
               and _info(new, "replication").get("role") == "master")
        return new

    def _sentinel_sees_everyone(self, sentinel: Sentinel) -> bool:
        with _client(sentinel) as client:
            try:
                found = client.sentinel_master(self.service)
            except redis.ResponseError:
                return False
            return (int(found.get("num-other-sentinels", 0)) == 2
                    and int(found.get("num-slaves", 0)) == 1)

    def _names(self, sentinel: Sentinel, port: int) -> bool:
        with _client(sentinel) as client:
            _, found = client.sentinel_get_master_addr_by_name(self.service)
        return int(found) == port


class ClusterNodes:
    """Three `--cluster-enabled` redis-servers joined by `redis-cli --cluster create`."""

    def __init__(self, directory: Path) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise FileNotFoundError(MISSING.replace("redis-server", "redis-cli", 1))
        self.cli = cli
        self.nodes = [RedisServer(_folder(directory, f"node{i}"), args=[
            "--cluster-enabled", "yes", "--cluster-node-timeout", "1000",
            "--cluster-config-file", str(directory / f"node{i}" / "nodes.conf")])
            for i in range(3)]

    @property
    def url(self) -> str:
        """`REDIS_URL` for the cluster: any one node."""
        return self.nodes[0].url

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run([self.cli, "--cluster", "create",
                        *(f"127.0.0.1:{node.port}" for node in self.nodes),
                        "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _until(lambda: all(_info(n, "cluster").get("cluster_enabled") == 1
                           and self._state(n) == "ok" for n in self.nodes))

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def keys(self) -> Iterator[str]:
        """Every key on every node."""
        for node in self.nodes:
            with _client(node) as client:
                yield from (key.decode() for key in client.keys("*"))

    def _state(self, node: RedisServer) -> str:
        with _client(node) as client:
            info = client.execute_command("CLUSTER INFO")
        return str(info.get("cluster_state", "")) if isinstance(info, dict) else ""


def _folder(directory: Path, name: str) -> Path:
    folder = directory / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _client(server: RedisServer) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=server.port, socket_connect_timeout=1,
                       socket_timeout=1, retry=Retry(NoBackoff(), 0))


def _info(server: RedisServer, section: str) -> dict[str, object]:
    with _client(server) as client:
        info: dict[str, object] = client.info(section)
        return info


def _until(done: Callable[[], bool]) -> None:
    """Wait until `done`; what it waits for is a server's own timer, bounded by its settings.

    No wall-clock limit here either: a server that never gets there is a broken machine.
    """
    while True:
        try:
            if done():
                return
        except (redis.ConnectionError, redis.TimeoutError):
            pass
        time.sleep(0.05)


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
