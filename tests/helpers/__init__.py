"""Helpers the tests share (no test module imports another test module):

- paths: the repository, tests/data, ../shared (the matrix's builds), skip-or-fail;
- cli: running the CLI and reading its JSON against docs/schema;
- servers: starting servers, ACL users, waiting for events on a server;
- rdb: writing RDB files byte by byte, saving a server's file, reading it two ways;
- scans, patterns, security: what more than one test file builds the same way.
"""

from tests.helpers.cli import (
    Result,
    assert_valid_json_output,
    invoke,
    load_json,
    run_cli,
    schema_validator,
    start_slow_bigkeys,
    stopped_at_exit,
)
from tests.helpers.paths import DATA, IN_CI, ROOT, SERVERS, SHARED, need_dir, skip_or_fail
from tests.helpers.servers import (
    ACL_PASSWORD,
    ACL_RULES,
    ACL_USER,
    ADMIN_PASSWORD,
    SLACK,
    Certs,
    client_for,
    monitor_attached,
    not_ok,
    require_binary,
    scan_calls,
    scan_started,
    server_in,
    setuser,
    start_server,
    three_primaries,
    wait_for_scans,
    wait_until,
)

__all__ = [
    "ACL_PASSWORD",
    "ACL_RULES",
    "ACL_USER",
    "ADMIN_PASSWORD",
    "DATA",
    "IN_CI",
    "ROOT",
    "SERVERS",
    "SHARED",
    "SLACK",
    "Certs",
    "Result",
    "assert_valid_json_output",
    "client_for",
    "invoke",
    "load_json",
    "monitor_attached",
    "need_dir",
    "not_ok",
    "require_binary",
    "run_cli",
    "scan_calls",
    "scan_started",
    "schema_validator",
    "server_in",
    "setuser",
    "skip_or_fail",
    "start_server",
    "start_slow_bigkeys",
    "stopped_at_exit",
    "three_primaries",
    "wait_for_scans",
    "wait_until",
]
