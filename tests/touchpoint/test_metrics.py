"""`/metrics`: Prometheus text exposition, fed by the handler, the HTTP layer and the scheduler."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient, TestServer

from bot.handler import Handler
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from bot.messages import Message
from touchpoint import metrics
from touchpoint.server import build_app
from touchpoint.settings import Settings

LINE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)'
                  r'(?P<labels>\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?'
                  r" (?P<value>-?[0-9.e+-]+|\+Inf|-Inf|NaN)$")


def parse(text: str) -> dict[str, float]:
    """Every sample by `name{labels}`; asserts each line is valid exposition format."""
    assert text.endswith("\n")
    samples: dict[str, float] = {}
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram") and name not in typed
            typed.add(name)
            continue
        if line.startswith("# HELP "):
            continue
        found = LINE.match(line)
        assert found, line
        base = re.sub(r"_(bucket|sum|count)$", "", found["name"])
        assert found["name"] in typed or base in typed, f"{line}: no # TYPE before it"
        samples[found["name"] + (found["labels"] or "")] = float(found["value"])
    return samples


def command(text: str) -> Message:
    return Message(text=text, user="U1", channel="C1", platform="slack", kind="command")


async def test_metrics_count_requests_matches_latency_and_errors(library: PlaybookSet) -> None:
    registry = metrics.Metrics()
    handler = Handler(library, MemoryStore(), observer=registry)
    app = build_app(Settings(), handler)
    metrics.attach(app, registry)
    example = library.by_id["price-objection"].examples.match[0]
    await handler.handle(command(example))
    await handler.handle(command("xyzzy plugh frobnicate"))
    await handler.handle(Message(text="helpful", user="U1", channel="C1", platform="slack",
                                 kind="action", value="price-objection"))
    registry.scheduler_posts.inc("ok")
    registry.scheduler_posts.inc("failed")
    async with TestClient(TestServer(app)) as client:
        for _ in range(2):
            assert (await client.get("/healthz")).status == 200
        assert (await client.get("/nowhere/at/all")).status == 404
        response = await client.get("/metrics")
        assert response.headers["Content-Type"] == metrics.CONTENT_TYPE
        samples = parse(await response.text())
    assert samples['touchpoint_matches_total{playbook="price-objection",mode="guide"}'] == 1
    assert samples["touchpoint_unmatched_total"] == 1
    assert samples['touchpoint_feedback_total{playbook="price-objection",kind="helpful"}'] == 1
    assert samples['touchpoint_messages_total{kind="command"}'] == 2
    assert samples['touchpoint_message_duration_seconds_count{kind="command"}'] == 2
    assert samples['touchpoint_message_duration_seconds_bucket{kind="command",le="+Inf"}'] == 2
    assert samples['touchpoint_http_requests_total{method="GET",route="/healthz",status="200"}'
                   ] == 2
    assert samples['touchpoint_http_requests_total{method="GET",route="other",status="404"}'
                   ] == 1
    assert samples['touchpoint_scheduler_posts_total{result="ok"}'] == 1
    assert samples['touchpoint_scheduler_posts_total{result="failed"}'] == 1
    assert not any(name.startswith("touchpoint_errors_total") for name in samples)


def test_a_failing_message_counts_as_an_error() -> None:
    registry = metrics.Metrics()
    registry.handled("channel", 0.02, True)
    registry.handled("channel", 0.01, False)
    assert registry.errors.get("handler") == 1
    assert registry.latency.count("channel") == 2
    assert registry.messages.get("channel") == 2


def test_histogram_buckets_are_cumulative_and_labels_escaped() -> None:
    histogram = metrics.Histogram("t_seconds", "help", ("route",), buckets=(0.1, 1.0))
    for value in (0.05, 0.5, 5.0):
        histogram.observe(value, 'a "quoted"\\path\n')
    lines = histogram.render()
    label = 'route="a \\"quoted\\"\\\\path\\n"'
    assert f't_seconds_bucket{{{label},le="0.1"}} 1' in lines
    assert f't_seconds_bucket{{{label},le="1"}} 2' in lines
    assert f't_seconds_bucket{{{label},le="+Inf"}} 3' in lines
    assert f"t_seconds_sum{{{label}}} 5.55" in lines
    parse("\n".join(lines) + "\n")


def test_label_sets_are_bounded() -> None:
    counter = metrics.Counter("c_total", "help", ("id",))
    for n in range(metrics.MAX_SERIES + 10):
        counter.inc(str(n))
    assert len(counter.values) == metrics.MAX_SERIES
