"""`--fail-if METRIC>VALUE`: a CI / cron gate checked on every node (it trips when any node
passes it). `connections>80%` is the share of maxclients, `connections>5000` a count."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rediscope.core.clients.model import GateResult, NodeClients
from rediscope.core.units import parse_size
from rediscope.errors import UsageError


@dataclass(frozen=True)
class Metric:
    unit: str  # bytes | count | per_s
    value: Callable[[NodeClients], float | None]
    what: str


#: metric -> how one node measures it (None: not measured there)
METRICS: dict[str, Metric] = {
    # as the report counts them: rediscope's own connections left out (a % of maxclients
    # counts every connection, as maxclients does)
    "connections": Metric(
        "count", lambda n: n.connected_clients - n.own, "connected clients (not rediscope's own)"
    ),
    "omem": Metric("bytes", lambda n: n.omem_max, "the biggest client output buffer"),
    "qbuf": Metric("bytes", lambda n: n.qbuf_max, "the biggest client query buffer"),
    "tot-mem": Metric("bytes", lambda n: n.tot_mem, "memory of all clients"),
    "churn": Metric("per_s", lambda n: n.connections_per_s, "new connections per second"),
    "rejected": Metric("count", lambda n: n.rejected_in_window, "connections rejected"),
    "blocked": Metric("count", lambda n: n.blocked_clients, "blocked clients"),
}
#: the metrics measured over --window (a gate on them needs one)
WINDOWED = ("churn", "rejected")
_SHARE = Metric("%", lambda n: n.maxclients_share, "connected clients of maxclients")
_EXPR = re.compile(r"^\s*([a-z-]+)\s*(>=|>)\s*(\S+?)\s*$")


@dataclass(frozen=True)
class Gate:
    expr: str
    metric: str
    op: str
    threshold: float
    measure: Metric

    def check(self, nodes: tuple[NodeClients, ...]) -> GateResult:
        worst: tuple[float, str] | None = None
        for node in nodes:
            value = None if node.error else self.measure.value(node)
            if value is not None and (worst is None or value > worst[0]):
                worst = (float(value), node.address)
        value, where = worst if worst is not None else (0.0, None)
        over = value >= self.threshold if self.op == ">=" else value > self.threshold
        return GateResult(
            expr=self.expr,
            metric=self.metric,
            unit=self.measure.unit,
            threshold=self.threshold,
            value=value,
            node=where,
            tripped=worst is not None and over,
        )


def parse_gate(expr: str) -> Gate:
    match = _EXPR.match(expr.lower())
    names = ", ".join(METRICS)
    if not match or match.group(1) not in METRICS:
        raise UsageError(
            f"--fail-if {expr!r}: expected METRIC>VALUE or METRIC>=VALUE",
            f"metrics: {names} (e.g. omem>64MB, connections>80%)",
        )
    name, op, raw = match.groups()
    measure = METRICS[name]
    if raw.endswith("%"):
        if name != "connections":
            raise UsageError(f"--fail-if {expr!r}: only connections takes a % (of maxclients)")
        measure, raw = _SHARE, raw[:-1]
        threshold = _number(raw, expr) / 100
    elif measure.unit == "bytes":
        threshold = float(parse_size(raw, f"--fail-if {expr!r}"))
    else:
        threshold = _number(raw, expr)
    return Gate(expr=expr.strip(), metric=name, op=op, threshold=threshold, measure=measure)


def _number(raw: str, expr: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"--fail-if {expr!r}: {raw!r} is not a number") from None
    if value < 0:
        raise UsageError(f"--fail-if {expr!r}: the value must not be negative")
    return value
