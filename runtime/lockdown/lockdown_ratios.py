#!/usr/bin/env python3
"""The lockdown's cost on one system call: runs lockdown-bench's getppid plain and under the filter
(FLEX_BENCH_LOCKDOWN=1), each run a fresh process, alternating, and prints the medians and the ratio.

  runtime/lockdown/lockdown_ratios.py build/bin/lockdown-bench [--repetitions 9] [--min-time 0.2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def run_one(bench, locked, min_time):
    env = dict(os.environ)
    env.pop("FLEX_BENCH_LOCKDOWN", None)
    if locked:
        env["FLEX_BENCH_LOCKDOWN"] = "1"
    out = subprocess.run([bench, "--benchmark_filter=^BM_getppid$", f"--benchmark_min_time={min_time}",
                          "--benchmark_format=json"], check=True, capture_output=True, text=True,
                         env=env).stdout
    runs = json.loads(out)["benchmarks"]
    if len(runs) != 1:
        sys.exit(f"lockdown_ratios.py: {bench} ran {len(runs)} benchmarks, expected 1")
    return runs[0]["real_time"]  # ns per call


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
    p, l = statistics.median(plain), statistics.median(locked)
    print(f"getppid: {p:.1f} ns plain, {l:.1f} ns under the lockdown filter, ratio {l / p:.2f} "
          f"(medians of {args.repetitions} fresh processes each)")


if __name__ == "__main__":
    main()
