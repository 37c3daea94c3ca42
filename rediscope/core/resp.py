"""RESP encoding via hiredis (C), for the pipelined hot paths."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import hiredis

Arg = bytes | str | int | float
Command = tuple[Arg, ...]

#: hiredis' stub types the argument as a 1-tuple; it takes any tuple of args.
pack = cast(Callable[[Command], bytes], hiredis.pack_command)
