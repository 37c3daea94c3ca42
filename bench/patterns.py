"""Benchmark: pattern inference alone, keys per second (target: >= 500,000 on 2 cores).

    python -m bench.patterns            # 1,000,000 keys from a dozen naming schemes

No server: the keys are generated here, as the scanner would hand them over (bytes).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
import uuid

from rediscope.core.patterns.inference import PatternInferer


def keys(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma", "theta"]
    makers = [
        lambda i: f"user:{i}",
        lambda i: f"user:{i}:profile",
        lambda i: f"session:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        lambda i: f"cache:page:{hashlib.sha1(str(i).encode()).hexdigest()}",
        lambda i: f"events:2026-11-{i % 28 + 1:02d}",
        lambda i: f"rate:10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
        lambda i: f"mail:user{i}@example.com",
        lambda i: f"search?q={rng.choice(words)}&page={i % 50}",
        lambda i: f"post#{i}#comments",
        lambda i: f"{{tenant{i % 500}}}:config",
        lambda i: f"feature:{rng.choice(words)}",
        lambda i: f"api:v2:order:{i}",
    ]
    return [makers[i % len(makers)](i).encode() for i in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    args = parser.parse_args()
    data = keys(args.keys)
    inferer = PatternInferer()
    infer = inferer.infer
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        patterns = {infer(k) for k in data}
        best = min(best, time.perf_counter() - start)
    print(
        f"| keys | distinct patterns | best of 3 s | keys/s |\n|---:|---:|---:|---:|\n"
        f"| {len(data):,} | {len(patterns)} | {best:.2f} | {len(data) / best:,.0f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
