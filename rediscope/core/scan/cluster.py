"""Cluster coordination: a scan that stays exact while slots move (reshard) or a primary fails over; shards whose slots changed are rescanned."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import redis

from rediscope.core.connection import ConnectionSpec
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import StopFlag
from rediscope.core.scan.live import NodeScanner
from rediscope.core.target import (
    Node,
    SlotLayout,
    Target,
    identify,
    node_spec,
    node_timeout_ms,
    slot_layout,
)
from rediscope.errors import RediscopeError


class Rounds(Protocol):
    """What the cluster scan needs of the pool that runs it (pool.py's Pool): a round of node
    scans, the stop flag, and a status line for the progress bar."""

    spec: ConnectionSpec
    opts: ScanOptions
    stop: StopFlag
    interrupted: bool

    def say(self, status: str | None) -> None: ...

    def round(self, nodes: Sequence[Node], rescan: int = 0) -> list[NodeScanner]: ...


#: rescan rounds after the first pass before giving up on a layout that keeps changing
MAX_RESCANS = 3


#: how long to wait for a migration that is still moving keys when the walk ends
SETTLE_SECONDS = 5.0


#: a migration whose key counts have not changed for this long has stopped (or died)
STILL_SECONDS = 1.0


class ClusterScan:
    """A cluster scan that stays exact while slots move.

    A reshard moves keys one by one from a source primary to a destination, so walking both
    with SCAN can count a key twice (measured on the source, moved, measured again on the
    destination) or not at all (moved before the source's cursor reached it, into buckets the
    destination's cursor had passed). Each node's result is therefore kept only if its shard
    served the same slots, with the same open migrations and the same keys on each side, when
    its walk started and after every walk ended, and every key it met was measured there
    (keys of a slot it is importing are read with ASKING). Shards left without a kept result
    are scanned again on the new layout, up to MAX_RESCANS times. A migration that is still
    moving keys when a walk ends is given SETTLE_SECONDS to finish; if it does not, the
    results are kept as they are, marked incomplete, and the slot is named.
    """

    def __init__(self, pool: Rounds, target: Target) -> None:
        self.pool = pool
        self.target = target
        self.changes: list[str] = []
        self.rescans = 0
        self.settled = True

    def _layout(self) -> tuple[Target, SlotLayout] | None:
        """The target re-discovered (the seed first, then any node it listed) and its layout."""
        spec = self.pool.spec
        for candidate in [spec, *(node_spec(spec, n) for n in self.target.nodes)]:
            try:
                target, _ident = identify(candidate)
            except (RediscopeError, redis.RedisError, OSError):
                continue
            if target.mode != "cluster":
                continue
            return Target(self.target.url, "cluster", target.nodes), slot_layout(spec, target)
        return None

    def _settle(self, start: SlotLayout) -> tuple[Target, SlotLayout] | None:
        """The layout after the walk; while a migration is still moving keys, wait for it to
        finish or to stand still."""
        got = self._layout()
        if got is None or not got[1].migrations or got[1].migrations == start.migrations:
            return got
        deadline = time.monotonic() + SETTLE_SECONDS
        still_since = time.monotonic()
        self.pool.say(f"waiting up to {SETTLE_SECONDS:g} s for a slot migration to finish")
        while time.monotonic() < deadline and not self.pool.stop.is_set():
            time.sleep(0.25)
            again = self._layout()
            if again is None:
                return got
            if not again[1].migrations:
                return again
            if again[1].migrations != got[1].migrations:
                still_since = time.monotonic()
            elif time.monotonic() - still_since >= STILL_SECONDS:
                return again
            got = again
        self.settled = False
        for m in got[1].migrations:
            self.changes.append(
                f"slot {m.slot} was still migrating from {got[1].name(m.source)} to "
                f"{got[1].name(m.destination)} {SETTLE_SECONDS:g} s after the scan: its keys "
                "may be missing or counted twice; scan again when the reshard is done"
            )
        return got

    @staticmethod
    def _invalid(s: NodeScanner, start: SlotLayout, end: SlotLayout) -> bool:
        nid = s.node.node_id or ""
        slots = end.shard_slots(nid)
        if s.result.error is not None:  # failed: rescanned only where another node took over
            return slots != start.shard_slots(nid)
        return (
            slots is None
            or slots != start.shard_slots(nid)
            or start.migrations_of(nid) != end.migrations_of(nid)
            or s.result.keys_moved > 0
        )

    def run(self, nodes: Sequence[Node]) -> list[NodeScanner]:
        layout = slot_layout(self.pool.spec, self.target)
        kept: dict[str, tuple[NodeScanner, SlotLayout]] = {}
        pending = list(nodes)
        while True:
            fresh = self.pool.round(pending, self.rescans)
            candidates = {**kept, **{s.node.node_id or s.node.address: (s, layout) for s in fresh}}
            if self.pool.interrupted:
                return [s for s, _ in candidates.values()]
            end = self._settle(layout)
            if end is not None:
                end = self._await_failover(fresh, layout, end)
            if end is None:
                self.changes.append(
                    "could not read the cluster's slot layout after the scan: "
                    "slots that moved meanwhile may be counted twice or missed"
                )
                self.settled = False
                return [s for s, _ in candidates.values()]
            self.target, end_layout = end
            kept = {
                k: v for k, v in candidates.items() if not self._invalid(v[0], v[1], end_layout)
            }
            dropped = [v[0] for k, v in candidates.items() if k not in kept]
            covered = {end_layout.shard_of.get(k) for k in kept}
            needed = [
                p for p, slots in sorted(end_layout.slots.items()) if slots and p not in covered
            ]
            if not needed:
                self._open_migrations(layout, end_layout)
                return [s for s, _ in kept.values()]
            why = self._moves(layout, end_layout, dropped)
            if not self.settled or self.rescans >= MAX_RESCANS:
                stopped = (
                    "not rescanned while keys are still moving"
                    if not self.settled
                    else f"gave up after {self.rescans} rescans"
                )
                self.settled = False
                self.changes.append(
                    f"{why}; {stopped}: the results of "
                    f"{', '.join(s.node.address for s in dropped)} may count keys twice or "
                    "miss some"
                )
                return [s for s, _ in candidates.values()]
            try:
                pending = [self._node_for(p, end_layout) for p in needed]
            except RediscopeError as exc:  # --replica and a shard without one now
                self.settled = False
                self.changes.append(f"{why}; not rescanned: {exc}")
                return [s for s, _ in candidates.values()]
            self.rescans += 1
            self.pool.say(f"rescanning {len(pending)} shard(s): slots moved")
            self.changes.append(
                f"{why}; rescanned {', '.join(n.address for n in pending)} (rescan {self.rescans})"
            )
            layout = end_layout

    def _await_failover(
        self, fresh: Sequence[NodeScanner], start: SlotLayout, end: tuple[Target, SlotLayout]
    ) -> tuple[Target, SlotLayout]:
        """A primary that failed mid-scan and has a replica that answers: the cluster will
        promote the replica within about twice cluster-node-timeout. Wait for that (bounded),
        so its shard can be rescanned on the new primary instead of being left partial."""
        waiting = [
            s
            for s in fresh
            if s.result.error is not None
            and s.node.role == "primary"
            and s.node.node_id not in end[1].reached
            and end[1].shard_slots(s.node.node_id or "") == start.shard_slots(s.node.node_id or "")
            and any(
                m in end[1].reached for m in end[1].members(s.node.node_id or "") - {s.node.node_id}
            )
        ]
        if not waiting:
            return end
        wait = min(60.0, 2 * node_timeout_ms(self.pool.spec, end[0]) / 1000 + 5)
        deadline = time.monotonic() + wait
        names = ", ".join(s.node.address for s in waiting)
        self.pool.say(f"{names} failed: waiting up to {wait:.0f} s for a replica to take over")
        while time.monotonic() < deadline and not self.pool.stop.is_set():
            time.sleep(0.5)
            again = self._layout()
            if again is None:
                continue
            end = again
            if all(
                end[1].shard_slots(s.node.node_id or "") != start.shard_slots(s.node.node_id or "")
                for s in waiting
            ):
                break
        return end

    def _node_for(self, primary: str, layout: SlotLayout) -> Node:
        """The node to scan for a shard: its primary, or with --replica one of its replicas."""
        if self.pool.opts.replica:
            for nid, p in sorted(layout.shard_of.items()):
                if p == primary and nid != primary:
                    return Node(layout.name(nid), "replica", nid, (), primary)
            raise RediscopeError(
                f"--replica: the shard of {layout.name(primary)} has no replica any more"
            )
        return Node(layout.name(primary), "primary", primary, layout.slots[primary])

    def _open_migrations(self, start: SlotLayout, end: SlotLayout) -> None:
        """Migrations open and standing still through the last walk (a reshard that stopped
        half-way): both sides were counted."""
        for m in end.migrations:
            if m not in start.migrations:
                continue
            self.changes.append(
                f"slot {m.slot} has an open migration from {end.name(m.source)} "
                f"({m.keys_source} keys) to {end.name(m.destination)} "
                f"({m.keys_destination} keys): both sides are counted, the importing side's "
                "keys with ASKING; if no reshard is running, `redis-cli --cluster fix` closes it"
            )

    @staticmethod
    def _moves(start: SlotLayout, end: SlotLayout, dropped: Sequence[NodeScanner]) -> str:
        """What changed, in words: slot ranges that changed shard, migrations, redirects."""
        owner_start = _slot_owners(start)
        owner_end = _slot_owners(end)
        moves: dict[tuple[str, str], list[int]] = {}
        for slot in range(16384):
            a, b = owner_start.get(slot), owner_end.get(slot)
            if a != b and (a is None or b is None or start.members(a).isdisjoint(end.members(b))):
                moves.setdefault((a or "?", b or "?"), []).append(slot)
        parts = [
            f"slot{'s' if len(slots) > 1 else ''} {_ranges(slots)} moved from "
            f"{start.name(a)} to {end.name(b)} during the scan"
            for (a, b), slots in moves.items()
        ]
        opened = set(end.migrations) - set(start.migrations)
        parts += [
            f"slot {m.slot} started migrating or moved keys"
            for m in sorted(opened, key=lambda m: m.slot)
        ]
        for s in dropped:
            if s.result.error is not None:
                nid = s.node.node_id or ""
                heirs = [
                    p for p, slots in end.slots.items() if slots and slots == start.shard_slots(nid)
                ]
                parts.append(
                    f"{s.node.address} failed mid-scan and "
                    f"{end.name(heirs[0]) if heirs else 'other nodes'} took over its slots"
                )
        moved = sum(s.result.keys_moved for s in dropped)
        if moved:
            parts.append(f"{moved} key(s) answered MOVED/ASK")
        return "; ".join(parts) or "the slot layout changed during the scan"


def _slot_owners(layout: SlotLayout) -> dict[int, str]:
    owners: dict[int, str] = {}
    for primary, ranges in layout.slots.items():
        for lo, hi in ranges:
            for slot in range(lo, hi + 1):
                owners[slot] = primary
    return owners


def _ranges(slots: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'"""
    out: list[str] = []
    start = prev = slots[0]
    for slot in [*slots[1:], -2]:
        if slot != prev + 1:
            out.append(f"{start}-{prev}" if prev != start else str(start))
            start = slot
        prev = slot
    return ", ".join(out)
