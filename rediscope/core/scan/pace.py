"""Pacing for --rate and --gentle: small requests, one at a time, spread evenly over the second.

A request is executed by the server in one go while every other client waits, so what the
application feels is the length of the scan's longest request, not the scan's average rate.
When paced, the scan therefore has at most one request at the server at a time and sizes each
so that it costs the server about BUDGET_US. The cost is read from the server's own clock: each
request starts and ends with TIME, and the difference is the time the server spent on it (its
commands, parsing included), per key it carried; the median of the last few sets the next
request's size. Where TIME is refused (an ACL without it, `+@read` alone say), the round trip
stands in for it: a round trip (timed from before its send) minus the bare round trip (the
least of the recent PINGs, one sent every WINDOW requests), the least of the last few; each
is an upper bound, but a loose one, since a busy server, network or client also makes a round
trip longer. Requests never grow beyond that to keep the rate: the application's latency comes
first, and a scan that cannot keep the rate with requests that small runs slower and says so
(`shortfall`). Letting them grow to 60 us to keep the rate measured a p99 of 1.4-2.0x the
application's own against 1.2-1.6x, for 20-45% more keys/s (docs/performance.md). --gentle
picks the rate too: at most a tenth of the server's main thread, less while the server is busy
with other work, from the server's own figures (INFO commandstats and INFO cpu, read every
second).
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from typing import Any

from rediscope.core.resp import RawConnection

#: what one paced request may cost the server, in microseconds: well under an application's
#: own p99 on a healthy server (about 100 us measured here for GET)
BUDGET_US = 30.0

#: the per-key cost is the median (TIME) or the least (round trips) of this many recent requests
WINDOW = 32

#: TIME as the first and the last command of a paced request: the server's own clock around it
TIME = b"*1\r\n$4\r\nTIME\r\n"

#: a paced scan that reached less than this share of the rate asked says so
SHORTFALL = 0.9

#: what a key costs the server at least (a SCAN visit and a few small commands, measured at
#: 1.5-3 us here): a round trip too quick to measure does not make requests any bigger
MIN_PER_KEY_US = 1.0

#: the shortest pause: a scan a little ahead of its rate sends on (each request is still small)
#: rather than waking up thousands of times a second for a few microseconds each
MIN_SLEEP_S = 0.002

#: --gentle: the share of the server's main thread the scan may take when the server is idle
GENTLE_SHARE = 0.10

#: --gentle: how often the server's CPU is read again
LOAD_EVERY_S = 1.0


class Pacer:
    """Sizes and times the requests of one db's walk; inactive without --rate or --gentle."""

    def __init__(self, rate: float | None, gentle: bool, max_count: int) -> None:
        self.rate = rate
        self.gentle = gentle
        self.active = rate is not None or gentle
        self.max_count = max_count
        self.per_key_us: float | None = None  # the server's time per key, measured
        self._per_key: deque[float] = deque(maxlen=WINDOW)  # its recent measures
        self.keys = 0  # keys the answered requests carried
        self._answered = 0  # requests answered
        self.rtt0_us = 0.0  # a bare round trip: the least of the recent PINGs'
        self._pings: deque[float] = deque(maxlen=8)
        self.timed = False  # each request is bracketed by TIME (the server allows it)
        self.share = GENTLE_SHARE
        self._count = min(max_count, 10)
        self._sent_at = 0.0
        self._started = time.monotonic()
        self.server_us_per_key: float | None = None  # --gentle: from INFO commandstats
        self._load: tuple[float, float | None, float, int] | None = None  # last read of it
        self._load_at = 0.0

    def start(self, conn: RawConnection) -> None:
        """Whether TIME can time the requests; the bare round trip (a few PINGs) for when it
        cannot; the server's CPU for --gentle."""
        if not self.active:
            return
        self.timed = _clock_us(conn.call(b"TIME")) is not None
        if not self.timed:
            for _ in range(5):
                self._bare(conn)
        self._started = time.monotonic()
        if self.gentle:
            self._read_load(conn)

    def _bare(self, conn: RawConnection) -> None:
        """One PING's round trip: the bare round trip is the least of the recent ones, so a
        slow first few (a busy start) do not make every request look free."""
        t = time.perf_counter()
        conn.call(b"PING")
        self._pings.append((time.perf_counter() - t) * 1e6)
        self.rtt0_us = min(self._pings)

    def count(self) -> int:
        """SCAN COUNT for the next step: the keys one request may carry."""
        return self._count if self.active else self.max_count

    def sent(self) -> None:
        self._sent_at = time.perf_counter()

    def answered(self, keys: int, replies: list[Any]) -> list[Any]:
        """A request's replies, all read: what it cost the server per key it carried, and the
        replies without the TIME brackets (timed requests)."""
        self._answered += 1
        cost_us: float | None
        if self.timed:
            first, last = _clock_us(replies[0]), _clock_us(replies[-1])
            replies = replies[1:-1]
            cost_us = last - first if first is not None and last is not None else None
        else:
            cost_us = (time.perf_counter() - self._sent_at) * 1e6 - self.rtt0_us
        self.keys += keys
        if keys <= 0 or cost_us is None:  # nothing to divide by, or TIME refused mid-scan
            return replies
        self._per_key.append(max(cost_us / keys, MIN_PER_KEY_US))
        # TIME measures the server alone: the typical request; a round trip is an upper bound
        per_key = statistics.median(self._per_key) if self.timed else min(self._per_key)
        self.per_key_us = per_key
        self._count = max(1, min(self.max_count, int(BUDGET_US / per_key)))
        return replies

    def shortfall(self, now: float | None = None) -> tuple[float, float] | None:
        """(asked, reached) keys per second when --rate was not kept; None when it was, when
        unpaced or --gentle, or when the walk was too short to tell."""
        elapsed = (time.monotonic() if now is None else now) - self._started
        if self.rate is None or self.gentle or elapsed < 2 or self.keys < self.rate:
            return None
        reached = self.keys / elapsed
        return (self.rate, reached) if reached < SHORTFALL * self.rate else None

    def current_rate(self) -> float | None:
        """Keys per second now: --rate, --gentle's share of the server's time, or the lower of
        the two when both are given."""
        rates = [self.rate] if self.rate is not None else []
        if self.gentle:
            if self.server_us_per_key is None:
                rates.append(1000.0)  # until the server's own figures have been read twice
            else:
                rates.append(self.share * 1e6 / self.server_us_per_key)
        return min(rates) if rates else None

    def wait(self, done: int, conn: RawConnection) -> None:
        """Before the next request: sleep until DONE keys are due at the current rate."""
        if not self.active:
            return
        if self.gentle and time.monotonic() - self._load_at >= LOAD_EVERY_S:
            self._read_load(conn, done)
        if not self.timed and self._answered % WINDOW == 0:
            self._bare(conn)  # the bare round trip again, now and then
        rate = self.current_rate()
        if rate is None:
            return
        ahead = done / rate - (time.monotonic() - self._started)
        if ahead > MIN_SLEEP_S:  # a few requests in a row, then a real pause: fewer wakeups
            time.sleep(ahead)

    def _read_load(self, conn: RawConnection, done: int = 0) -> None:
        """--gentle: the server's own figures since the last read. INFO commandstats gives its
        time in the scan's commands per key (doubled: it leaves out reading, parsing and
        replying, which cost as much again for small commands); INFO cpu gives how busy its
        main thread is with other work, which sets the share the scan may take."""
        self._load_at = time.monotonic()
        cpu = _cpu_seconds(_info(conn, b"cpu"))
        usec = _scan_usec(_info(conn, b"commandstats"))
        if usec is None:  # refused (an ACL changed mid-scan): no figures, so no new guess
            return
        now = time.monotonic()
        if self._load is not None:
            then, cpu0, usec0, done0 = self._load
            if done > done0 and usec >= usec0:
                self.server_us_per_key = max(2 * (usec - usec0) / (done - done0), MIN_PER_KEY_US)
            if cpu is not None and cpu0 is not None and now > then:
                busy = (cpu - cpu0) / (now - then)
                ours = 2 * (usec - usec0) / 1e6 / (now - then)
                self.share = min(GENTLE_SHARE, max(0.02, (0.9 - (busy - ours)) / 4))
        self._load = (now, cpu, usec, done)


#: the commands a scan sends, as INFO commandstats names them (cmdstat_<name>...)
_SCAN_COMMANDS = ("scan", "type", "memory", "strlen", "llen", "scard", "zcard", "hlen", "xlen",
                  "pttl", "object")  # fmt: skip


def _clock_us(reply: Any) -> int | None:
    """TIME's reply in microseconds; None for an error reply (TIME refused)."""
    if isinstance(reply, list) and len(reply) == 2:
        return int(reply[0]) * 1_000_000 + int(reply[1])
    return None


def _info(conn: RawConnection, section: bytes) -> dict[str, str] | None:
    """An INFO section's fields; None when the server refused INFO (an ACL, a rename)."""
    reply = conn.call(b"INFO", section)
    if not isinstance(reply, bytes):
        return None
    text = reply.decode(errors="replace")
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


def _cpu_seconds(fields: dict[str, str] | None) -> float | None:
    if fields is None:
        return None
    for keys in (("used_cpu_sys_main_thread", "used_cpu_user_main_thread"),
                 ("used_cpu_sys", "used_cpu_user")):  # fmt: skip
        if all(k in fields for k in keys):
            return sum(float(fields[k]) for k in keys)
    return None


def _scan_usec(fields: dict[str, str] | None) -> float | None:
    """The server's time in the scan's commands so far, in microseconds; None: unreadable."""
    if fields is None:
        return None
    total = 0.0
    for name, stats in fields.items():
        base = name.removeprefix("cmdstat_").split("|")[0]
        if name.startswith("cmdstat_") and base in _SCAN_COMMANDS:
            for part in stats.split(","):
                if part.startswith("usec="):
                    total += float(part[5:])
    return total
