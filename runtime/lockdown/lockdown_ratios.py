#!/usr/bin/env python3
"""The lockdown's cost: runs lockdown-bench (getppid, and the process gate round trip with futex and spin
hand-offs) plain and locked down (FLEX_BENCH_LOCKDOWN=1), each run a fresh process, alternating, and
prints the medians and the ratios.

  runtime/lockdown/lockdown_ratios.py build/bin/lockdown-bench [--repetitions 9] [--min-time 0.2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


# (row, benchmark name in lockdown-bench's JSON)
ROWS = [
    ("getppid", "BM_getppid"),
    ("process gate, futex hand-offs", "process_gate/futex/real_time"),
    ("process gate, spinning", "process_gate/spin/real_time"),
]
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def run_one(bench, locked, min_time):
    """ns per iteration of each row's benchmark in one fresh process."""
    env = dict(os.environ)
    env.pop("FLEX_BENCH_LOCKDOWN", None)
    if locked:
        env["FLEX_BENCH_LOCKDOWN"] = "1"
    out = subprocess.run([bench, f"--benchmark_min_time={min_time}", "--benchmark_format=json"], check=True,
                         capture_output=True, text=True, env=env).stdout
    runs = {b["name"]: b["real_time"] * UNIT_NS[b.get("time_unit", "ns")] for b in json.loads(out)["benchmarks"]}
    missing = [name for _, name in ROWS if name not in runs]
    if missing:
        sys.exit(f"lockdown_ratios.py: {bench} did not run {', '.join(missing)}")
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", help="path to lockdown-bench")
    ap.add_argument("--repetitions", type=int, default=9)
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per run (benchmark_min_time)")
    args = ap.parse_args()
    if args.repetitions < 1:
        sys.exit("lockdown_ratios.py: --repetitions must be at least 1")
    plain, locked = [], []
    for rep in range(args.repetitions):
        for lock in ((False, True) if rep % 2 == 0 else (True, False)):
            (locked if lock else plain).append(run_one(args.bench, lock, args.min_time))

    def ns(v):
        return f"{v / 1000:.2f} us" if v >= 10000 else f"{v:.1f} ns"

    print(f"| medians of {args.repetitions} fresh processes each | plain | locked down | ratio |")
    print("|---|---|---|---|")
    for row, name in ROWS:
        p = statistics.median(r[name] for r in plain)
        l = statistics.median(r[name] for r in locked)
        print(f"| {row} | {ns(p)} | {ns(l)} | {l / p:.2f} |")


if __name__ == "__main__":
    main()
