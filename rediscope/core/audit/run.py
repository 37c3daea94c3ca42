"""`rediscope audit`: one scan (live, every shard, or an RDB) into the audit collector, the
checks per pattern, bounded value samples where a check needs them, one report."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

from rediscope.core.audit.checks import (
    CHECK_IDS,
    CHECKS,
    SEVERITIES,
    Finding,
    Pattern,
    Thresholds,
    eviction_mismatch,
)
from rediscope.core.audit.collector import Agg, AuditCollector
from rediscope.core.audit.history import last_counts, save_counts
from rediscope.core.audit.roles import ROLES, classify
from rediscope.core.audit.samples import sampled_findings
from rediscope.core.connection import ConnectionSpec
from rediscope.core.patterns.inference import Rule
from rediscope.core.pipeline.options import ScanOptions
from rediscope.core.pipeline.records import LIVE, Collector, ProgressFn, ScanSummary, SourceInfo
from rediscope.core.pipeline.source import KeySource
from rediscope.core.report import Outcome, scan_outcome
from rediscope.core.scan.source import as_source, eviction_policy
from rediscope.core.target import Target
from rediscope.errors import ConfigError
from rediscope.exitcodes import ExitStatus


@dataclass(frozen=True)
class AuditReport:
    command: ClassVar[str] = "audit"
    target: Target
    complete: bool
    scan: ScanSummary
    policy: str | None  # maxmemory-policy (None: a file, which does not say)
    patterns: int
    findings: tuple[Finding, ...]
    summary: dict[str, int]  # severity -> findings
    fail_on: str | None
    notes: tuple[str, ...]
    source: SourceInfo = LIVE

    def outcome(self) -> Outcome:
        """A report (exit 0) unless --fail-on names a severity that was found (exit 1)."""
        base = scan_outcome(self.scan)
        if base.status != ExitStatus.OK or self.fail_on is None:
            return base
        floor = SEVERITIES.index(self.fail_on)
        hit = [f for f in self.findings if SEVERITIES.index(f.severity) >= floor]
        if hit:
            return Outcome(ExitStatus.ERROR, (f"{len(hit)} finding(s) at {self.fail_on} or above",))
        return base


def _patterns(table: dict[str, Agg], rules: tuple[Rule, ...], base: Thresholds) -> list[Pattern]:
    """Each pattern with its role; a rule naming the pattern may set the role, silence
    checks and change thresholds."""
    by_name = {r.name: r for r in rules}
    out = []
    for name, agg in table.items():
        types = {t.decode("utf-8", "replace"): n for t, n in agg.types.items()}
        rule = by_name.get(name)
        if rule is None:
            out.append(
                Pattern(
                    name=name, role=classify(name, types), agg=agg, types=types, thresholds=base
                )
            )
            continue
        role = rule.role or classify(name, types)
        out.append(
            Pattern(
                name=name,
                role=role,
                agg=agg,
                types=types,
                ignore=frozenset(rule.ignore),
                thresholds=_tuned(base, rule),
            )
        )
    return out


def _tuned(base: Thresholds, rule: Rule) -> Thresholds:
    kinds = {f.name: type(getattr(base, f.name)) for f in fields(Thresholds)}
    return replace(base, **{n: kinds[n](v) for n, v in rule.thresholds})


def _clocked(findings: list[Finding], source: SourceInfo) -> list[Finding]:
    """The expiry times of expiry_storm on one clock. Live: epoch seconds (`clock: epoch`).
    From a file, TTLs are relative to when it was written: with the file's creation time
    known (aux ctime) they become epoch seconds too; without it they stay seconds after the
    file was written (`clock: file`), never shown as a date in 1970."""
    if source.kind == "live":
        return [_with(f, clock="epoch") if f.id == "expiry_storm" else f for f in findings]
    ctimes = [f.ctime for f in source.files if f.ctime]
    base = min(ctimes) if ctimes else None
    out = []
    for f in findings:
        if f.id == "expiry_storm":
            ev = f.evidence
            if base is None:
                f = _with(f, clock="file")
            else:
                f = _with(
                    f,
                    clock="epoch",
                    peak_second_at=ev["peak_second_at"] + base,
                    peak_minute_at=ev["peak_minute_at"] + base,
                    by_second=[[t + base, n] for t, n in ev["by_second"]],
                    by_minute=[[t + base, n] for t, n in ev["by_minute"]],
                )
        out.append(f)
    return out


def _with(f: Finding, **evidence: object) -> Finding:
    return replace(f, evidence={**f.evidence, **evidence})


def _check_thresholds(rule: Rule) -> None:
    """Every threshold a rule sets: a known name and a number, zero or more."""
    names = {f.name for f in fields(Thresholds)}
    for name, value in rule.thresholds:
        if name not in names:
            raise ConfigError(
                f"rule {rule.name!r}: unknown threshold {name!r} ({', '.join(sorted(names))})"
            )
        if not value >= 0:  # negative (or NaN): no count or share is below zero
            raise ConfigError(f"rule {rule.name!r}: threshold {name} must be a number >= 0")


def _check_rules(rules: tuple[Rule, ...]) -> None:
    """The whole rules file, before any scan: a mistake in a rule that matches no key is
    still a mistake."""
    for r in rules:
        _check_thresholds(r)
        if r.role is not None and r.role not in ROLES:
            raise ConfigError(f"rule {r.name!r}: unknown role {r.role!r} ({', '.join(ROLES)})")
        bad = [i for i in r.ignore if i not in CHECK_IDS]
        if bad:
            raise ConfigError(f"rule {r.name!r}: unknown check {bad[0]!r} to ignore")


def _with_growth(
    url: str, patterns: list[Pattern], findings: list[Finding], whole: bool
) -> list[Finding]:
    """counter_unbounded findings with the growth since the last audit of this target; this
    audit's counter counts kept for the next (a sampled audit neither reads nor keeps them)."""
    if not whole:
        return findings
    last = last_counts(url)
    out = []
    for f in findings:
        if f.id == "counter_unbounded" and last is not None and f.pattern in last[1]:
            growth = {
                "growth_since_last": f.keys - last[1][f.pattern],
                "last_audit_at": int(last[0]),
            }
            f = replace(f, evidence={**f.evidence, **growth})
        out.append(f)
    save_counts(url, {p.name: p.agg.no_ttl for p in patterns if p.role == "counter"})
    return out


def _live_checks(
    spec: ConnectionSpec | None,
    patterns: list[Pattern],
    separators: str,
    findings: list[Finding],
    notes: list[str],
) -> str | None:
    """The checks that ask the server (its policy, value samples), added to FINDINGS; the
    maxmemory-policy (None: a file, which does not say)."""
    if spec is None:
        notes.append(
            "eviction_mismatch, big_json_string, tag_dangling and hot_copy_drift need the live "
            "server: not checked"
        )
        return None
    policy = eviction_policy(spec)
    found = eviction_mismatch(policy, patterns)
    findings += [found] if found else []
    findings += sampled_findings(spec, patterns, separators, findings)
    return policy


def audit(
    source: ConnectionSpec | KeySource,
    opts: ScanOptions,
    separators: str = ":",
    rules: tuple[Rule, ...] = (),
    idle_days: float = 30.0,
    thresholds: Thresholds | None = None,
    fail_on: str | None = None,
    progress: ProgressFn | None = None,
) -> AuditReport:
    _check_rules(rules)
    src = as_source(source)
    t = thresholds or Thresholds()
    access = src.access() if src.spec is not None else None
    needs = {"ttl", "memory", "length"} | ({"idle"} if access == "idletime" else set())

    def make() -> list[Collector]:
        return [AuditCollector(separators, rules, frozenset(needs), idle_days)]

    result = src.scan(opts, make, progress)
    target, scan = result.target, result.summary
    col = result.collector(AuditCollector)
    patterns = _patterns(col.finish(), rules, t)
    findings = [
        f for p in patterns for check in CHECKS if (f := check(p, p.thresholds)) is not None
    ]
    notes = list(scan.notes)
    policy = _live_checks(src.server, patterns, separators, findings, notes)
    has_idle = (
        src.access() == "idletime"
        if src.spec is None
        else access == "idletime" and scan.measured("idle")
    )
    if not has_idle:
        notes.append("idle_without_ttl needs idle times (an LRU policy or an RDB with LRU data)")
    if not opts.lengths:
        notes.append(
            "--no-lengths: queue_backlog, big_json_string and tag_dangling need element counts "
            "and string lengths: not checked"
        )
    findings = _with_growth(target.url, patterns, findings, opts.sample is None)
    findings = _clocked(findings, src.source_info())
    silenced = {p.name: p.ignore for p in patterns if p.ignore}
    findings = [f for f in findings if f.id not in silenced.get(f.pattern, ())]
    findings.sort(key=lambda f: (-SEVERITIES.index(f.severity), -(f.bytes or 0), f.id, f.pattern))
    summary: dict[str, int] = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    return AuditReport(
        target=target,
        complete=scan.complete,
        scan=scan,
        policy=policy,
        patterns=len(patterns),
        findings=tuple(findings),
        summary=summary,
        fail_on=fail_on,
        notes=tuple(notes),
        source=src.source_info(),
    )
