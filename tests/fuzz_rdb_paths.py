"""A long fuzz run of the RDB reader, outside the suite: damaged copies of the given files read
by the compiled loop and by the Python reader, which must agree on every row, file fact and
error. tests/server/test_rdb_fast.py runs a short version of it on every CI run.

    python -m tests.fuzz_rdb_paths --seconds 240 --seed 1 tests/data/*.rdb dump.rdb

Under AddressSanitizer: build _fast.c with `-fsanitize=address,undefined` into a copy of the
package and run this with LD_PRELOAD set to gcc's libasan.so and libubsan.so (docs/performance.md).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from rediscope.core.rdbfile import compiled, stream
from rediscope.core.rdbfile.reader import RdbReader
from tests.helpers.rdb import CLOCK, PythonReader, damaged, read_with


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    sources = [p.read_bytes() for p in args.files]
    path = Path(tempfile.mkdtemp()) / "damaged.rdb"
    cases = differences = 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        data = damaged(rnd.choice(sources), rnd)
        path.write_bytes(data)
        stream.CHUNK = rnd.choice([300, 1000, 1 << 20])
        fast = read_with(RdbReader, path, CLOCK)
        elements, compiled.elements = compiled.elements, None
        slow = read_with(PythonReader, path, CLOCK)
        compiled.elements = elements
        if fast != slow:
            differences += 1
            kept = path.with_name(f"difference-{differences}.rdb")
            kept.write_bytes(data)
            print(f"difference: {kept} (buffer {stream.CHUNK})")
        cases += 1
    print(f"{cases:,} damaged files, {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
