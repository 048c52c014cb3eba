#!/usr/bin/env python3
"""Runs build/bin/gate-bench and reports each gate's round trip against its physical limit, measured in the
same binary and the same run: medians over repetitions, and the ratio gate/limit.

    runtime/gate_table.py [--repetitions 5] [--out build/gate-bench.json] [--bench build/bin/gate-bench]
                              [--pku-vm]

--pku-vm runs the benchmark inside the PKU guest (scripts/pku-vm.sh) on a machine without PKU: the MPK
rows then run, but under CPU emulation, so their figures say nothing about hardware (the table says so).
Targets (DESIGN.md §9, issue 3): mpk full <= 1.5x the WRPKRU-pair limit, process spin <= 2x the spin limit;
the mpk system-call gate <= 1.5x getppid between a WRPKRU pair. The trap path is reported beside a bare call.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

# (row, gate benchmark, limit benchmark, target ratio or None)
ROWS = [
    ("call", "plain_call", None, None),
    ("mpk light", "mpk_light_round_trip", "mpk_wrpkru_pair_call", None),
    ("mpk full", "mpk_full_round_trip", "mpk_wrpkru_pair_call", 1.5),
    ("process spin", "process_gate/spin", "process_limit/shm_spin", 2.0),
    ("process futex", "process_gate/futex", "process_limit/futex", None),
    ("getppid, dispatch armed (ALLOW)", "syscall_dispatch_getppid", "syscall_getppid", None),
    ("mpk system-call gate (getppid)", "syscall_gate_getppid", "syscall_limit_getppid", 1.5),
    ("mpk system-call trap (getppid)", "syscall_trap_getppid", "syscall_getppid", None),
]
LIMIT_NAMES = {
    "mpk_wrpkru_pair_call": "WRPKRU pair + call",
    "process_limit/shm_spin": "shared-memory spin, 2 processes",
    "process_limit/futex": "futex, 2 processes",
    "syscall_limit_getppid": "getppid between a WRPKRU pair",
    "syscall_getppid": "getppid, a bare syscall",
}


def run_bench(args, out_json):
    cmd = [args.bench, f"--benchmark_repetitions={args.repetitions}", "--benchmark_report_aggregates_only=true",
           f"--benchmark_out={out_json}", "--benchmark_out_format=json"]
    if args.pku_vm:
        cmd = [os.path.join(args.root, "scripts/pku-vm.sh"), "--"] + cmd
    subprocess.run(cmd, check=False, stdout=sys.stderr)
    with open(out_json) as f:
        return json.load(f)


def medians(report):
    """Median real time (ns) per benchmark, and the error message of the skipped ones."""
    med, skipped = {}, {}
    for b in report.get("benchmarks", []):
        name = b.get("run_name", b["name"]).split("/repeats:")[0].removesuffix("/real_time")
        if b.get("error_occurred"):
            skipped[name] = b.get("error_message", "skipped")
            continue
        if b.get("aggregate_name") == "median":
            unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
            med[name] = b["real_time"] * unit
    return med, skipped


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(root, "build/bin/gate-bench"))
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(root, "build/gate-bench.json"))
    ap.add_argument("--pku-vm", action="store_true")
    args = ap.parse_args()
    args.root = root
    if args.repetitions < 1:
        ap.error("--repetitions must be at least 1")
    if not os.access(args.bench, os.X_OK):
        sys.exit(f"gate_table: {args.bench} not found; build first (scripts/bootstrap.sh)")

    with tempfile.NamedTemporaryFile(suffix=".json", dir=os.path.dirname(args.out) or ".", delete=False) as t:
        raw = t.name
    try:
        report = run_bench(args, raw)
    finally:
        if os.path.exists(raw):
            os.unlink(raw)
    med, skipped = medians(report)

    rows = []
    for row, gate, limit, target in ROWS:
        r = {"gate": row, "benchmark": gate, "median_ns": med.get(gate), "limit": LIMIT_NAMES.get(limit),
             "limit_median_ns": med.get(limit) if limit else None, "target_ratio": target}
        if gate in skipped:
            r["skipped"] = skipped[gate]
        if r["median_ns"] is not None and r["limit_median_ns"]:
            r["ratio"] = r["median_ns"] / r["limit_median_ns"]
            if target is not None:
                r["meets_target"] = r["ratio"] <= target
        rows.append(r)
    result = {"repetitions": args.repetitions, "emulated_cpu": args.pku_vm,
              "context": report.get("context", {}), "rows": rows}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, args.out)

    def ns(v):
        return "-" if v is None else (f"{v / 1000:.2f} us" if v >= 10000 else f"{v:.1f} ns")

    print(f"| gate | round trip (median of {args.repetitions}) | limit | limit median | ratio | target |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "skipped" in r:
            print(f"| {r['gate']} | skipped: {r['skipped']} | {r['limit'] or '-'} | | | |")
            continue
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
        target = f"<= {r['target_ratio']}x" if r["target_ratio"] else "-"
        print(f"| {r['gate']} | {ns(r['median_ns'])} | {r['limit'] or '-'} | {ns(r['limit_median_ns'])} | {ratio} | {target} |")
    if args.pku_vm:
        print("(inside the PKU guest: emulated CPU, so the MPK figures are not hardware figures)")
    print(f"JSON: {args.out}")


if __name__ == "__main__":
    main()
