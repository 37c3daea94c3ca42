"""The roles of docs/security.md, applied as written."""

from __future__ import annotations

import hashlib
import re

from rediscope.core.localserver import LocalServer
from tests.helpers.paths import ROOT
from tests.helpers.servers import setuser

SECRET = "S3cret-Canary-9f2b"


def acl_lines() -> dict[str, str]:
    """The ACL SETUSER line of each role in docs/security.md."""
    text = (ROOT / "docs" / "security.md").read_text()
    out = {}
    for role, line in re.findall(r"<!-- acl:(\w+) -->\s*```\s*\n(ACL SETUSER [^\n]+)", text):
        out[role] = line
    return out


def apply_role(server: LocalServer, role: str, password: str) -> str:
    line = acl_lines()[role]
    line = line.replace("#<sha256>", "#" + hashlib.sha256(password.encode()).hexdigest())
    _acl, _setuser, user, rules = line.split(maxsplit=3)
    admin = server.client()
    setuser(admin, user, rules)
    admin.close()
    return user
