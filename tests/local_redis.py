"""A real `redis-server` for the tests, started from PATH in a temporary directory.

The Redis store is tested against the real server, not a fake, because what
matters is how it behaves when Redis itself restarts, refuses a command or
holds something unexpected.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

MISSING = ("redis-server was not found on PATH. The Redis store's tests need a real Redis: "
           "install it (apt-get install redis-server, brew install redis). REDIS_URL can "
           "point most of them at another Redis; the restart tests always start their own.")


class RedisServer:
    """One redis-server process that can be stopped and started again on the same port.

    `persistent` turns on the append-only file, fsynced on every write, so a
    restart (even a kill) brings back everything that was written.
    """

    def __init__(self, directory: Path, persistent: bool = False) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise FileNotFoundError(MISSING)
        self.executable = executable
        self.directory = directory
        self.persistent = persistent
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
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
        args = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--logfile", str(self.log),
                "--daemonize", "no", "--save", ""]
        if self.persistent:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1,
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
