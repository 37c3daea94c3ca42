"""Every command is documented; generated reference and completions are current."""

from __future__ import annotations

import re

import click
import pytest
import typer

from rediscope.cli import _generate
from rediscope.cli.app import app
from rediscope.exitcodes import ExitStatus, HealthExit
from tests.helpers import ROOT


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    assert isinstance(group, click.Group)
    return group.list_commands(click.Context(group))


@pytest.mark.parametrize("name", _commands())
def test_every_command_has_a_page_a_readme_row_and_an_example(name: str) -> None:
    assert (ROOT / "docs" / f"{name}.md").is_file()
    assert f"`rediscope {name}" in (ROOT / "README.md").read_text()
    if name == "backup":
        assert "--keep-daily" in (ROOT / "docs" / "backup.md").read_text()
    group = typer.main.get_command(app)
    assert isinstance(group, click.Group)
    cmd = group.get_command(click.Context(group), name)
    assert cmd is not None and cmd.help is not None
    assert "Example" in cmd.help, f"{name} --help has no example"


def test_generated_reference_and_completions_are_current() -> None:
    stale = [
        p for p, text in _generate.outputs().items() if not p.exists() or p.read_text() != text
    ]
    assert not stale, "run: python -m rediscope.cli._generate"


def test_every_exit_code_is_documented() -> None:
    text = (ROOT / "docs" / "exit-codes.md").read_text()
    for status in ExitStatus:
        assert re.search(rf"\|\s*{int(status)}\s*\|\s*{status.name}\s*\|", text), status
    for health in HealthExit:
        assert f"{int(health)} {health.name}" in text


def test_docs_never_put_a_password_on_argv() -> None:
    for page in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]:
        for line in page.read_text().splitlines():
            if line.lstrip().startswith("rediscope") or "rediscope " in line:
                assert not re.search(r"--password\s+\S", line), (page, line)
                assert not re.search(r"redis://[^/@\s]*:[^*@\s]+@", line), (page, line)
