"""Memory of one `touchpoint serve` process with 10,000 triggers loaded, against baselines.

Each set is written to a playbook folder and served by its own `touchpoint serve`
process (no Slack, Teams or Redis, the watcher off); once `/healthz` answers, the
resident set size (VmRSS) and its peak (VmHWM) are read from /proc. The baselines run
in the same invocation: one shipped playbook (what the process costs by itself) and
the shipped set. Linux only (/proc).

    python bench/memory.py              # one round of each
    python bench/memory.py --rounds 3   # the median of 3
    python bench/memory.py --baseline ../touchpoint-main   # each set also served by that checkout
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from matching import generated  # noqa: E402

SHIPPED = ROOT / "playbooks"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])  # kB
    return fields


def folder_one(where: Path) -> Path:
    where.mkdir()
    first = sorted(p for p in SHIPPED.glob("*.yaml")
                   if p.name not in ("background.yaml", "schedule.yaml"))[0]
    shutil.copy(first, where / first.name)
    shutil.copy(SHIPPED / "background.yaml", where / "background.yaml")
    return where


def folder_shipped(where: Path) -> Path:
    shutil.copytree(SHIPPED, where)
    return where


def folder_generated(where: Path, triggers: int) -> Path:
    where.mkdir()
    for playbook in generated(triggers):
        data = playbook.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        (where / f"{playbook.id}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    shutil.copy(SHIPPED / "background.yaml", where / "background.yaml")
    return where


def measure(folder: Path, root: Path = ROOT) -> tuple[int, int, float]:
    """(RSS kB, peak RSS kB, seconds to /healthz) of a serve process on `folder`."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "TOUCHPOINT_", "Microsoft", "REDIS_"))}
    env.update(TOUCHPOINT_PLAYBOOKS=str(folder), TOUCHPOINT_WATCH_INTERVAL="0",
               TOUCHPOINT_LOG_LEVEL="WARNING", PYTHONPATH=str(root))
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "touchpoint.cli", "serve", "--host",
                             "127.0.0.1", "--port", str(port)], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            if proc.poll() is not None:
                why = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"serve exited: {why}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        ready = time.monotonic() - started
        time.sleep(1.0)  # let start-up work (the scheduler's first look) finish
        status = _status(proc.pid)
        return status["VmRSS"], status["VmHWM"], ready
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--triggers", type=int, default=10_000)
    parser.add_argument("--baseline", type=Path, help="another checkout of Touchpoint whose "
                        "serve process also loads each set, in the same run")
    args = parser.parse_args()
    roots = [("", ROOT)]
    if args.baseline:
        roots = [(", old code", args.baseline.resolve()), (", this checkout", ROOT)]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        sets = [
            ("one shipped playbook (baseline)", folder_one(base / "one")),
            ("shipped playbooks", folder_shipped(base / "shipped")),
            (f"{args.triggers:,} generated triggers", folder_generated(base / "gen",
                                                                     args.triggers)),
        ]
        rows = []
        for name, folder in sets:
            for code, root in roots:
                runs = [measure(folder, root) for _ in range(args.rounds)]
                rss = statistics.median(r[0] for r in runs) / 1024
                peak = statistics.median(r[1] for r in runs) / 1024
                ready = statistics.median(r[2] for r in runs)
                rows.append((name + code, rss, peak, ready))
    print("| playbook set | RSS MiB | peak RSS MiB | over baseline MiB | seconds to /healthz |")
    print("|---|---:|---:|---:|---:|")
    for number, (name, rss, peak, ready) in enumerate(rows):
        baseline = rows[number % len(roots)][1]  # the one-playbook row of the same code
        print(f"| {name} | {rss:.1f} | {peak:.1f} | {rss - baseline:+.1f} | {ready:.2f} |")
    if args.baseline:
        old, new = rows[-2][1], rows[-1][1]
        print(f"{args.triggers:,} triggers, this checkout / baseline RSS: {new / old:.2f}x "
              f"({new - old:+.1f} MiB)")


if __name__ == "__main__":
    main()
