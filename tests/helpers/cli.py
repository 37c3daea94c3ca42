"""Running the CLI (in-process and as a process) and reading its JSON, validated against
docs/schema/<command>.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner

from rediscope.cli.app import app
from tests.helpers.paths import ROOT


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout as the one JSON document it must be, validated against its schema."""
        return load_json(self.stdout)


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Run the CLI in-process (CliRunner), stdout and stderr kept apart."""
    result = CliRunner().invoke(app, list(args), env=env, input=input, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def start_slow_bigkeys(port: int, rate: int, scan_count: int, *extra: str) -> subprocess.Popen[str]:
    """`bigkeys --format json` as a background process, paced (--rate keys/s per node) so a
    test can change the deployment while it runs."""
    pace = ("--rate", str(rate), "--scan-count", str(scan_count))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rediscope",
            "bigkeys",
            "-p",
            str(port),
            "--format",
            "json",
            *pace,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """Run `python -m rediscope` as a subprocess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "rediscope", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def schema_validator(command: str) -> Any:
    """A validator for docs/schema/<command>.json, resolving refs to sibling schema files."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = {p.name: json.loads(p.read_text()) for p in (ROOT / "docs" / "schema").glob("*.json")}
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )
    return Draft202012Validator(schemas[f"{command.replace(' ', '-')}.json"], registry=registry)


def load_json(text: str) -> Any:
    """The one place a test reads rediscope's JSON: exactly one document, and an envelope
    (a document with `schema_version`) valid against docs/schema/<command>.json."""
    doc = json.loads(text)
    if isinstance(doc, dict) and "schema_version" in doc:
        errors = sorted(schema_validator(str(doc["command"])).iter_errors(doc), key=str)
        assert not errors, "\n".join(str(e.message) for e in errors[:5])
    return doc


def assert_valid_json_output(result: Result, command: str) -> dict[str, Any]:
    """Exactly one JSON document on stdout, for `command`, valid against its schema."""
    doc = result.json()
    assert doc["command"] == command
    return doc  # type: ignore[no-any-return]


@contextmanager
def stopped_at_exit(proc: subprocess.Popen[Any]) -> Iterator[subprocess.Popen[Any]]:
    """PROC, killed (by its PID) and reaped when the block ends if it still runs: a test that
    fails while a CLI process runs leaves nothing behind."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=20)
