"""`rediscope hotkeys`: which keys and patterns take the traffic, sampled safely.

Methods: `server` (Redis 8.6+ HOTKEYS START/GET/STOP), `lfu` (OBJECT FREQ over a scan, under
an LFU policy), `monitor` (a bounded MONITOR window, parsed and counted per key, pattern,
command and client). `auto` picks the first that the server allows, in that order
(command.py); each method has its module, MONITOR parsing and key positions theirs.
"""

from rediscope.core.hotkeys.command import hotkeys
from rediscope.core.hotkeys.keypos import KeyFinder
from rediscope.core.hotkeys.monitor_lines import MonitorEvent, parse_args, parse_line
from rediscope.core.hotkeys.report import LFU_INIT, HotkeysOptions, HotkeysReport

__all__ = [
    "LFU_INIT",
    "HotkeysOptions",
    "HotkeysReport",
    "KeyFinder",
    "MonitorEvent",
    "hotkeys",
    "parse_args",
    "parse_line",
]
