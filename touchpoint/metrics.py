"""Prometheus metrics at `GET /metrics`, in the text exposition format, written by hand.

The format is a few lines of text, so no client library is needed. There is
no global registry: `serve` makes one `Metrics` and passes it to whatever
counts (the handler as its `Observer`, the HTTP middleware, the reloader and
the scheduler), so tests can make their own and nothing leaks between them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from bot.usage import FEEDBACK, Counted, UsageEvent

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_SERIES = 2000
"""Label combinations one metric may hold; beyond it new ones are dropped, not grown."""

Labels = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass
class Counter:
    name: str
    help: str
    labels: Labels = ()
    values: dict[Labels, float] = field(default_factory=dict)

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        if len(labels) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {labels}")
        if labels not in self.values and len(self.values) >= MAX_SERIES:
            return
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def get(self, *labels: str) -> float:
        return self.values.get(labels, 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        lines += [f"{self.name}{_labels(self.labels, k)} {_number(v)}"
                  for k, v in sorted(self.values.items())]
        return lines


@dataclass
class Histogram:
    name: str
    help: str
    labels: Labels = ()
    buckets: tuple[float, ...] = LATENCY_BUCKETS
    series: dict[Labels, tuple[list[int], list[float]]] = field(default_factory=dict)
    """Per label values: the count in each bucket (and +Inf), and [sum]."""

    def observe(self, value: float, *labels: str) -> None:
        if len(labels) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {labels}")
        found = self.series.get(labels)
        if found is None:
            if len(self.series) >= MAX_SERIES:
                return
            found = self.series[labels] = ([0] * (len(self.buckets) + 1), [0.0])
        counts, total = found
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
        counts[-1] += 1
        total[0] += value

    def count(self, *labels: str) -> int:
        found = self.series.get(labels)
        return found[0][-1] if found else 0

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, (counts, total) in sorted(self.series.items()):
            bounds = [*self.buckets, math.inf]
            for bound, count in zip(bounds, counts, strict=True):
                le = f'le="{_number(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.labels, key, le)} {count}")
            lines.append(f"{self.name}_sum{_labels(self.labels, key)} {_number(total[0])}")
            lines.append(f"{self.name}_count{_labels(self.labels, key)} {counts[-1]}")
        return lines


@dataclass
class Gauge:
    """A value read when scraped, so it can never disagree with what it describes."""

    name: str
    help: str
    read: Callable[[], dict[Labels, float]]
    labels: Labels = ()

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} gauge"]
        lines += [f"{self.name}{_labels(self.labels, k)} {_number(v)}"
                  for k, v in sorted(self.read().items())]
        return lines


class Metrics:
    """Everything `/metrics` reports. Also the handler's `bot.analytics.Observer`.

    `scheduler_posts` is for the daily-prompt scheduler: `inc("ok")` or
    `inc("failed")` per channel post.
    """

    def __init__(self) -> None:
        self.messages = Counter("touchpoint_messages_total",
                                "Messages the core answered, by kind.", ("kind",))
        self.latency = Histogram("touchpoint_message_duration_seconds",
                                 "Time the core took to answer a message.", ("kind",))
        self.errors = Counter("touchpoint_errors_total",
                              "Failures: the core raising, or an HTTP 5xx answer.", ("where",))
        self.matches = Counter("touchpoint_matches_total",
                               "Messages matched to a playbook, by playbook and mode "
                               "(guide: asked; nudge: posted in a channel).",
                               ("playbook", "mode"))
        self.unmatched = Counter("touchpoint_unmatched_total",
                                 "Questions no playbook answered.")
        self.feedback = Counter("touchpoint_feedback_total",
                                "Helpful, not helpful and share presses, by playbook.",
                                ("playbook", "kind"))
        self.requests = Counter("touchpoint_http_requests_total",
                                "HTTP requests, by route and status.",
                                ("method", "route", "status"))
        self.request_latency = Histogram("touchpoint_http_request_duration_seconds",
                                         "Time to answer an HTTP request (the acknowledgement, "
                                         "not the work done after it).", ("route",))
        self.scheduler_posts = Counter("touchpoint_scheduler_posts_total",
                                       "Scheduled channel posts, by result.", ("result",))
        self.call_nudges = Counter("touchpoint_call_nudges_total",
                                   "Tries at nudges after customer calls, by outcome (posted, "
                                   "retry, unrouted: nobody to nudge, gone, failed).",
                                   ("outcome",))
        self.reloads = Counter("touchpoint_playbook_reloads_total",
                               "Playbook reloads, by result (ok, unchanged, rejected).",
                               ("result",))
        self._gauges: list[Gauge] = []

    def gauge(self, name: str, help: str, read: Callable[[], dict[Labels, float]],
              labels: Labels = ()) -> None:
        self._gauges.append(Gauge(name, help, read, labels))

    # bot.analytics.Observer

    def counted(self, usage: UsageEvent) -> None:
        if usage.kind in (Counted.GUIDE, Counted.NUDGE):
            self.matches.inc(usage.playbook, usage.kind.value)
        elif usage.kind in FEEDBACK:
            self.feedback.inc(usage.playbook, usage.kind.value)
        elif usage.kind == Counted.UNMATCHED:
            self.unmatched.inc()

    def handled(self, kind: str, seconds: float, failed: bool) -> None:
        self.messages.inc(kind)
        self.latency.observe(seconds, kind)
        if failed:
            self.errors.inc("handler")

    def render(self) -> str:
        parts: list[Counter | Histogram | Gauge] = [
            self.messages, self.latency, self.errors, self.matches, self.unmatched,
            self.feedback, self.requests, self.request_latency, self.scheduler_posts,
            self.reloads, self.call_nudges, *self._gauges,
        ]
        return "\n".join(line for part in parts for line in part.render()) + "\n"

    # HTTP

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                         ) -> web.StreamResponse:
        """Count every request by its route pattern (never the raw path: no unbounded labels)."""
        started = time.perf_counter()
        route = _route(request)
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            if route != "/metrics":
                self.requests.inc(request.method, route, str(status))
                self.request_latency.observe(time.perf_counter() - started, route)
                if status >= 500:
                    self.errors.inc("http")

    async def serve(self, request: web.Request) -> web.Response:
        """`GET /metrics`."""
        return web.Response(body=self.render().encode(), headers={"Content-Type": CONTENT_TYPE})


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "other"


METRICS_KEY: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)


def attach(app: web.Application, metrics: Metrics) -> None:
    """`/metrics` and the request counting middleware; call before the app starts."""
    app[METRICS_KEY] = metrics
    app.middlewares.append(metrics.middleware)
    app.router.add_get("/metrics", metrics.serve)
