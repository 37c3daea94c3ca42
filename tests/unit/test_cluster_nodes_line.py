"""A node's own CLUSTER NODES line: its slots and its open migrations. No server."""

from __future__ import annotations

from rediscope.core.target import _self_view


def test_a_nodes_own_line_gives_its_slots_and_migrations() -> None:
    text = (
        "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@40001 myself,master - 0 0 1 "
        "connected 0-5460 7000 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1] "
        "[93-<-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]\n"
        "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@40002 master - 0 "
        "1426238316232 2 connected 5461-10922\n"
    )
    view = _self_view(text)
    assert view is not None and view.primary_id is None
    assert view.node_id.startswith("e7d1ee")
    assert view.slots == ((0, 5460), (7000, 7000))
    assert view.marks == (
        (5461, "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1", True),
        (93, "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f", False),
    )
    replica = "abc 127.0.0.1:30004@40004 myself,slave e7d1ee 0 0 1 connected\n"
    view = _self_view(replica)
    assert view is not None and view.primary_id == "e7d1ee" and view.slots == ()
