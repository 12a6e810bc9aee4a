"""`touchpoint serve` as a process: SIGHUP reloads, a bad edit is refused, `/metrics` counts."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from aiohttp import ClientSession
from live_support import break_weight, copy_playbooks
from serve_process import clean_environment, serving, wait_for_log

SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?'
                    r" -?([0-9.e+-]+|\+Inf|-Inf|NaN)$")


async def count(session: ClientSession, url: str) -> int:
    async with session.get(f"{url}/healthz") as response:
        body = await response.json()
        return int(body["playbooks"])


async def test_sighup_reloads_and_a_bad_edit_is_refused(tmp_path: Path) -> None:
    folder = copy_playbooks(tmp_path / "playbooks")
    env = {**clean_environment(), "TOUCHPOINT_PLAYBOOKS": str(folder),
           "TOUCHPOINT_WATCH_INTERVAL": "0"}
    async with serving(env) as tp, ClientSession() as session:
        assert await count(session, tp.url) == 3
        (folder / "customer-gift.yaml").unlink()
        tp.proc.send_signal(signal.SIGHUP)
        await wait_for_log(tp, r"playbooks reloaded after SIGHUP: 2 playbooks")
        assert await count(session, tp.url) == 2
        line = break_weight(folder / "renewal.yaml")
        tp.proc.send_signal(signal.SIGHUP)
        await wait_for_log(tp, r"playbooks rejected after SIGHUP")
        await wait_for_log(tp, rf"renewal\.yaml:{line}:\d+: triggers\[\d+\]\.weight")
        assert await count(session, tp.url) == 2
        async with session.get(f"{tp.url}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all(SAMPLE.match(line) for line in samples), \
        [line for line in samples if not SAMPLE.match(line)]
    assert 'touchpoint_playbook_reloads_total{result="ok"} 1' in samples
    assert 'touchpoint_playbook_reloads_total{result="rejected"} 1' in samples
    assert 'touchpoint_http_requests_total{method="GET",route="/healthz",status="200"} 3' \
        in samples
    assert "touchpoint_playbooks 2" in samples
