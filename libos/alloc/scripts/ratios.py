#!/usr/bin/env python3
"""Runs alloc-bench with repetitions and prints the median time per operation of TLSF and glibc for each
pattern, and the ratio glibc/TLSF (above 1.0: TLSF is faster).

  libos/alloc/scripts/ratios.py build/bin/alloc-bench [--repetitions 5] [extra benchmark flags]
"""
import argparse
import json
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", help="path to alloc-bench")
    ap.add_argument("--repetitions", type=int, default=5)
    args, extra = ap.parse_known_args()
    out = subprocess.run(
        [args.bench, f"--benchmark_repetitions={args.repetitions}", "--benchmark_report_aggregates_only=true",
         "--benchmark_format=json", *extra],
        check=True, capture_output=True, text=True).stdout
    medians = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            medians[b["run_name"]] = b["op"] * 1e9  # the op counter is seconds per operation
    print(f"{'pattern':<22}{'glibc ns/op':>12}{'TLSF ns/op':>12}{'glibc/TLSF':>12}")
    for name, ns in medians.items():
        if "<glibc>" not in name:
            if "<" not in name:
                print(f"{name:<22}{'':>12}{ns:>12.2f}")
            continue
        other = name.replace("<glibc>", "<tlsf>")
        if other in medians:
            pattern = name.replace("<glibc>", "")
            print(f"{pattern:<22}{ns:>12.2f}{medians[other]:>12.2f}{ns / medians[other]:>12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
