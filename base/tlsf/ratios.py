#!/usr/bin/env python3
"""Runs every tlsf-bench pattern with glibc and with TLSF, each run in a fresh process, alternating the
two allocators, and prints the median time per operation of each and the ratio glibc/TLSF (above 1.0:
TLSF is faster).

  base/tlsf/ratios.py build/bin/tlsf-bench [--repetitions 9] [--min-time 0.2]

A fresh process per run matters: glibc's malloc keeps the state earlier patterns left in its arena (its
bins, its top chunk, its mmap threshold), and one pattern run after another in the same process can be
several times slower or faster than alone. Each run here starts both allocators from an empty heap.
"""
import argparse
import json
import statistics
import subprocess
import sys


def patterns(bench):
    out = subprocess.run([bench, "--benchmark_list_tests=true"], check=True, capture_output=True,
                         text=True).stdout
    names = []
    for line in out.split():
        if "<glibc>" in line:
            names.append(line.replace("<glibc>", "<{}>"))
    return names


def run_one(bench, name, min_time):
    out = subprocess.run(
        [bench, f"--benchmark_filter=^{name.replace('<', '[<]').replace('>', '[>]')}$",
         f"--benchmark_min_time={min_time}", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b["run_name"] == name]
    if len(runs) != 1:
        sys.exit(f"ratios.py: {bench} ran {len(runs)} benchmarks named {name}, expected 1")
    return runs[0]["op"] * 1e9  # the op counter is seconds per operation


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", help="path to tlsf-bench")
    ap.add_argument("--repetitions", type=int, default=9)
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per run (benchmark_min_time)")
    args = ap.parse_args()
    if args.repetitions < 1:
        sys.exit("ratios.py: --repetitions must be at least 1")
    names = patterns(args.bench)
    if not names:
        sys.exit(f"ratios.py: {args.bench} lists no <glibc> benchmark; is it tlsf-bench?")
    times = {(n, a): [] for n in names for a in ("glibc", "tlsf")}
    for rep in range(args.repetitions):
        for n in names:
            order = ("glibc", "tlsf") if rep % 2 == 0 else ("tlsf", "glibc")
            for a in order:
                times[(n, a)].append(run_one(args.bench, n.format(a), args.min_time))
    print(f"{'pattern':<22}{'glibc ns/op':>12}{'TLSF ns/op':>12}{'glibc/TLSF':>12}   "
          f"(medians of {args.repetitions} fresh processes each)")
    for n in names:
        g = statistics.median(times[(n, "glibc")])
        t = statistics.median(times[(n, "tlsf")])
        print(f"{n.format('').replace('<>', ''):<22}{g:>12.2f}{t:>12.2f}{g / t:>12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
