"""Tiers 1-3: `--format html` of memory, patterns, bigkeys and audit: one self-contained page
(nothing fetched), small, and rendered by a real browser (headless Chromium) without console
errors into a page that names the patterns."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from rediscope.core.demo.keyspace import load_demo
from rediscope.core.localserver import LocalServer
from rediscope.render.base import human_bytes
from tests.conftest import IN_CI, invoke

#: every attribute that makes a browser fetch something
FETCHING = re.compile(r"""\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?([^"'\s>]*)""", re.I)


def assert_self_contained(page: str) -> None:
    """No URL a browser would fetch: no src/href at all (in-page anchors aside), no CSS url(),
    no @import, no script."""
    assert [u for u in FETCHING.findall(page) if not u.startswith("#")] == []
    assert "url(" not in page and "@import" not in page
    assert "<script" not in page.lower()


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is not installed (.ci/setup installs it: apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def browse(page: Path, tmp: Path, *action: str) -> tuple[str, str]:
    """Chromium headless on PAGE, with every connection sent to a closed loopback port (the
    browser's own update and account checks included): (stdout, stderr). Its process group is
    killed however this ends."""
    args = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=1",
        "--window-size=1100,1400",
        *action,
        page.as_uri(),
    ]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 0, err[-2000:]
    return out, err


def console_messages(stderr: str) -> list[str]:
    """What the page wrote to the console (errors, failed loads): Chromium logs them as
    `INFO:CONSOLE:<line>] "<message>"` at --v=1."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def distinct_pixels(png: bytes) -> int:
    """How many different byte values the image's pixel rows hold (a blank page: very few)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            data += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(data)))


@pytest.fixture
def demo(plain: LocalServer) -> LocalServer:
    load_demo(plain.port, scale=0.05)
    return plain


def test_memory_page_renders_in_chromium_and_names_the_patterns(
    demo: LocalServer, tmp_path: Path
) -> None:
    out = tmp_path / "memory.html"
    res = invoke("memory", "-p", str(demo.port), "--format", "html", "-o", str(out))
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    html = out.read_text()
    assert_self_contained(html)
    assert len(html.encode()) < 2 * 1024 * 1024
    assert "complete" in html and f"127.0.0.1:{demo.port}" in html
    doc = invoke("memory", "-p", str(demo.port), "--format", "json").json()
    for row in doc["by_type"]:  # the table's figures, in the table's units
        assert f'<td class="n">{human_bytes(row["bytes"])}</td>' in html, row

    dom, err = browse(out, tmp_path, "--dump-dom")
    assert console_messages(err) == []
    for pattern in ("user:*", "session:*", "cache:page:*", "leaderboard:"):
        assert pattern in dom, pattern
    assert dom.count("<rect") > 20  # the treemap's blocks and the histograms' bars
    assert "Recommendations" in dom and "Key sizes by type" in dom

    shot = tmp_path / "memory.png"
    browse(out, tmp_path, f"--screenshot={shot}")
    assert distinct_pixels(shot.read_bytes()) > 50


def test_patterns_bigkeys_and_audit_pages_on_stdout(demo: LocalServer) -> None:
    port = str(demo.port)
    pages = {
        "patterns": invoke("patterns", "-p", port, "--memory", "--format", "html"),
        "bigkeys": invoke("bigkeys", "-p", port, "--format", "html"),
        "audit": invoke("audit", "-p", port, "--format", "html"),
    }
    for name, res in pages.items():
        assert res.exit_code in (0, 1), (name, res.stderr)  # audit may find things
        assert res.stdout.startswith("<!DOCTYPE html>"), name
        assert res.stdout.count("</html>") == 1
        assert_self_contained(res.stdout)
    assert "user:*" in pages["patterns"].stdout and "size p99" in pages["patterns"].stdout
    assert "big:blob:export" in pages["bigkeys"].stdout
    assert "keys by elements" in pages["bigkeys"].stdout
    assert "Findings" in pages["audit"].stdout


def test_key_names_are_escaped_never_markup(plain: LocalServer) -> None:
    c = plain.client()
    c.set('x:<script>alert(1)</script>:"q"&', "v" * 100)
    c.set(b"bin:\x00\xff<b>", "v")
    c.close()
    res = invoke("memory", "-p", str(plain.port), "--format", "html")
    assert res.exit_code == 0, res.stderr
    assert "<script>" not in res.stdout and "<b>" not in res.stdout
    assert "x:&lt;script&gt;alert(1)&lt;/script&gt;:&quot;q&quot;&amp;" in res.stdout
    assert_self_contained(res.stdout)


def test_the_browser_checks_can_fail(tmp_path: Path) -> None:
    """A page with a console error and a link to fetch is caught by the same checks."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="x.css"></head>'
        '<body><script>console.error("boom")</script></body></html>'
    )
    with pytest.raises(AssertionError):
        assert_self_contained(bad.read_text())
    _dom, err = browse(bad, tmp_path, "--dump-dom")
    assert any("boom" in line for line in console_messages(err))


def test_an_empty_keyspace_says_so(plain: LocalServer) -> None:
    res = invoke("bigkeys", "-p", str(plain.port), "--format", "html")
    assert res.exit_code == 0, res.stderr
    assert "the server holds no keys" in res.stdout
    assert_self_contained(res.stdout)
