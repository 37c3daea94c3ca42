"""Generate docs/reference.md (every command's --help) and completions/ for bash, zsh, fish.

python -m rediscope.cli._generate          # rewrite the files
python -m rediscope.cli._generate --check  # exit 1 if any file is stale (the tests do this)
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer

from rediscope.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 100
SHELLS = {"bash": "rediscope.bash", "zsh": "_rediscope", "fish": "rediscope.fish"}


def _help(cmd: click.Command, name: str, parent: click.Context | None = None) -> str:
    ctx = click.Context(
        cmd, info_name=name, parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
    )
    return cmd.get_help(ctx)


def reference() -> str:
    group = typer.main.get_command(app)
    assert isinstance(group, click.Group)
    root_ctx = click.Context(
        group, info_name="rediscope", terminal_width=WIDTH, max_content_width=WIDTH
    )
    parts = [
        "# Command reference",
        "",
        "Generated from `--help` by `python -m rediscope.cli._generate`; a test keeps it in sync.",
        "",
        "## rediscope",
        "",
        "```",
        _help(group, "rediscope"),
        "```",
        "",
    ]
    for name in group.list_commands(root_ctx):
        cmd = group.get_command(root_ctx, name)
        assert cmd is not None
        parts += [f"## rediscope {name}", "", "```", _help(cmd, name, root_ctx), "```", ""]
        if isinstance(cmd, click.Group):
            sub_ctx = click.Context(cmd, info_name=name, parent=root_ctx)
            for sub in cmd.list_commands(sub_ctx):
                subcmd = cmd.get_command(sub_ctx, sub)
                assert subcmd is not None
                parts += [
                    f"### rediscope {name} {sub}",
                    "",
                    "```",
                    _help(subcmd, sub, sub_ctx),
                    "```",
                    "",
                ]
    return "\n".join(parts)


def completion(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    return (
        get_completion_script(
            prog_name="rediscope", complete_var="_REDISCOPE_COMPLETE", shell=shell
        ).rstrip()
        + "\n"
    )


def outputs() -> dict[Path, str]:
    files = {ROOT / "docs" / "reference.md": reference()}
    for shell, filename in SHELLS.items():
        files[ROOT / "completions" / filename] = completion(shell)
    return files


def main(argv: list[str]) -> int:
    stale = []
    for path, text in outputs().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if "--check" not in argv:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if "--check" in argv and stale:
        print(
            "stale: "
            + ", ".join(str(p.relative_to(ROOT)) for p in stale)
            + " (run python -m rediscope.cli._generate)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
