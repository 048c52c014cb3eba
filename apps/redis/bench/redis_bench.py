#!/usr/bin/env python3
"""redis-benchmark against Flex's Redis images and the stock redis-server, on this machine, in one run.

    apps/redis/bench/redis_bench.py [--profiles redis-1comp,redis-3comp] [--repetitions 3]
                                    [--requests 100000] [--clients 50] [--out build/redis-bench]

For each profile it builds the image (build/bin/flexbuild), then alternates A/B: stock redis-server, the
image, stock, the image, ... each run being `redis-benchmark -t set,get,incr,lpush,lpop,ping -n N -c C
--csv`, then the same with `-P 16`. It reports the median requests per second of each test and the ratio
image/stock, and for every image the gate calls per request (the image runs once more with --gate-stats
under a fixed number of GETs); for an image of an unmodified program (binary: profiles), also how many of
the program's system calls per GET came bound (through its C library's imports) and how many were caught
by the signal. Results: OUT/results.json and OUT/results.csv, and a table on stdout.

With --pin SERVER:CLIENT (CPU lists, as taskset takes them: --pin 0:1) every server runs on the first CPUs
and redis-benchmark on the second, so the client's load does not move between the server's cores from run
to run: on a machine with few cores the spread between runs of the same image shrinks.

With --against lockdown-off the peer of each image is the same profile built with `lockdown: off`
(build/images/<profile>-lockdown-off) instead of the stock server: the ratio is then the cost of the
lockdown (enforce/off).

Images with mpk compartments need a CPU with PKU; on a machine without it they are skipped, with the
reason, unless --pku-vm runs the whole comparison inside the PKU guest (scripts/pku-vm.sh), where both
servers run on the same emulated CPU (ratios only; the absolute figures are not hardware figures).
"""
import argparse
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TESTS = "set,get,incr,lpush,lpop,ping"


def has_pku():
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    return " pku" in flags and " ospke" in flags


def needs_pku(profile):
    with open(os.path.join(ROOT, "profiles", profile + ".yaml")) as f:
        return "isolation: mpk" in f.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        r = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
        if r.stdout.strip() == "PONG":
            return
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not answer PING within {timeout} s")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.communicate()


PIN = None  # (server CPUs, client CPUs), from --pin


def pinned(cmd, side):
    return ["taskset", "-c", PIN[side], *cmd] if PIN else cmd


def start(cmd, port, workdir):
    cmd = pinned(cmd, 0)
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_ready(port, proc)
    return proc


def bench(port, requests, clients, pipeline):
    cmd = ["redis-benchmark", "-p", str(port), "-t", TESTS, "-n", str(requests), "-c", str(clients), "--csv"]
    if pipeline > 1:
        cmd += ["-P", str(pipeline)]
    out = subprocess.run(pinned(cmd, 1), capture_output=True, text=True, check=True).stdout
    rps = {}
    for row in csv.reader(io.StringIO(out)):
        if len(row) >= 2 and row[0] != "test":
            rps[row[0]] = float(row[1])
    return rps


def stock_cmd(port):
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]


def image_cmd(profile, port, extra=()):
    exe = os.path.join(ROOT, "build", "images", profile, profile)
    return [exe, *extra, "--port", str(port), "--bind", "127.0.0.1"]


def gate_calls_per_request(profile, requests=20000):
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        proc = start(image_cmd(profile, port, ["--gate-stats"]), port, d)
        subprocess.run(["redis-benchmark", "-p", str(port), "-t", "get", "-n", str(requests), "-c", "1", "-q"],
                       capture_output=True, check=True)
        out, _ = stop(proc)
    calls = {}
    for line in out.splitlines():
        # gate-stats: app -> net (mpk-full): 60012 calls
        if line.startswith("gate-stats:") and "->" in line and line.endswith(" calls"):
            boundary, n = line[len("gate-stats: "):].rsplit(": ", 1)
            calls[boundary] = int(n.split()[0]) / requests
        # gate-stats: program /usr/bin/redis-server: 40012 bound calls (83 imports bound), 651 caught calls
        m = re.match(r"gate-stats: program .*: (\d+) bound calls \((\d+) imports bound\), (\d+) caught calls$", line)
        if m:
            calls["program: bound system calls"] = int(m.group(1)) / requests
            calls["caught system calls (signal)"] = int(m.group(3)) / requests
    return calls


def build_lockdown_off(profile):
    """The profile's twin with `lockdown: off`: build/images/<profile>-lockdown-off (flexbuild --lockdown)."""
    subprocess.run([os.path.join(ROOT, "build/bin/flexbuild"), "--profile",
                    os.path.join(ROOT, "profiles", profile + ".yaml"), "--lockdown", "off"],
                   check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", default="redis-1comp,redis-2comp,redis-3comp,redis-3comp-process,redis-hardened")
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "redis-bench"))
    ap.add_argument("--pku-vm", action="store_true", help="run everything inside the PKU guest")
    ap.add_argument("--against", choices=("stock", "lockdown-off"), default="stock",
                    help="the peer of each image: the stock redis-server, or the profile with lockdown: off")
    ap.add_argument("--pin", metavar="SERVER:CLIENT",
                    help="CPU lists for the servers and for redis-benchmark (taskset -c), e.g. 0:1")
    args = ap.parse_args()
    if args.repetitions < 1 or args.requests < 1 or args.clients < 1:
        ap.error("--repetitions, --requests and --clients must be positive")
    global PIN
    if args.pin is not None:
        m = re.fullmatch(r"([0-9][0-9,-]*):([0-9][0-9,-]*)", args.pin)
        if not m:
            ap.error(f"--pin {args.pin!r}: expected two CPU lists, SERVER:CLIENT, e.g. 0:1 or 0-1:2-3")
        cpus = os.sched_getaffinity(0)
        for side in m.groups():
            for part in side.split(","):
                lo, dash, hi = part.partition("-")
                ok = lo.isdigit() and (not dash or hi.isdigit())
                if not ok or int(hi or lo) < int(lo) or not set(range(int(lo), int(hi or lo) + 1)) <= cpus:
                    ap.error(f"--pin {args.pin!r}: {part!r} is not a range of CPUs this process may use "
                             f"({','.join(map(str, sorted(cpus)))})")
        PIN = m.groups()
    for tool in ("redis-server", "redis-benchmark", "redis-cli"):
        if not shutil.which(tool):
            sys.exit(f"redis_bench: {tool} not found (apt-get install redis-server redis-tools)")
    profiles = [p for p in args.profiles.split(",") if p]
    for p in profiles:
        if not os.path.exists(os.path.join(ROOT, "profiles", p + ".yaml")):
            sys.exit(f"redis_bench: no profile profiles/{p}.yaml")

    if args.pku_vm and not has_pku():
        cmd = [os.path.join(ROOT, "scripts/pku-vm.sh"), "--", sys.executable, os.path.abspath(__file__),
               "--profiles", args.profiles, "--repetitions", str(args.repetitions), "--requests",
               str(args.requests), "--clients", str(args.clients), "--out", args.out, "--against", args.against] + (
                   ["--pin", args.pin] if args.pin else [])
        for p in profiles:  # build here, where the compiler runs at full speed
            subprocess.run([os.path.join(ROOT, "build/bin/flexbuild"), "--profile",
                            os.path.join(ROOT, "profiles", p + ".yaml")], check=True, stdout=subprocess.DEVNULL)
        sys.exit(subprocess.run(cmd).returncode)

    peer = "stock" if args.against == "stock" else "lockdown off"
    results = {"requests": args.requests, "clients": args.clients, "repetitions": args.repetitions,
               "peer": peer, "pin": args.pin,
               "emulated_cpu": bool(os.environ.get("FLEX_PKU_VM_GUEST")), "profiles": {}}
    runnable = []
    for p in profiles:
        if needs_pku(p) and not has_pku():
            results["profiles"][p] = {"skipped": "needs PKU (run with --pku-vm on this machine)"}
            continue
        subprocess.run([os.path.join(ROOT, "build/bin/flexbuild"), "--profile",
                        os.path.join(ROOT, "profiles", p + ".yaml")], check=True, stdout=subprocess.DEVNULL)
        if args.against == "lockdown-off":
            build_lockdown_off(p)
        runnable.append(p)

    samples = {}  # (server, pipeline, test) -> [rps]
    with tempfile.TemporaryDirectory() as d:
        for rep in range(args.repetitions):
            for p in runnable:
                for server in ("stock", p):  # A/B, alternating
                    port = free_port()
                    if server != "stock":
                        cmd = image_cmd(server, port)
                    elif args.against == "lockdown-off":
                        cmd = image_cmd(p + "-lockdown-off", port)
                    else:
                        cmd = stock_cmd(port)
                    proc = start(cmd, port, d)
                    try:
                        for pipeline in (1, 16):
                            for test, rps in bench(port, args.requests, args.clients, pipeline).items():
                                key = (server if server != "stock" else f"stock/{p}", pipeline, test)
                                samples.setdefault(key, []).append(rps)
                    finally:
                        stop(proc)
                    print(f"redis_bench: repetition {rep + 1}/{args.repetitions}: {server} done", file=sys.stderr)

    rows = []
    for p in runnable:
        entry = {"pipeline": {}}
        for pipeline in (1, 16):
            tests = {}
            for (server, pl, test), vals in samples.items():
                if server != p or pl != pipeline:
                    continue
                stock = statistics.median(samples[(f"stock/{p}", pipeline, test)])
                mine = statistics.median(vals)
                tests[test] = {"image_rps": mine, "stock_rps": stock, "ratio": mine / stock if stock else None}
                rows.append([p, pipeline, test, f"{mine:.0f}", f"{stock:.0f}", f"{mine / stock:.3f}" if stock else ""])
            entry["pipeline"][str(pipeline)] = tests
        try:
            entry["gate_calls_per_get"] = gate_calls_per_request(p)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            entry["gate_calls_per_get"] = {"error": str(e)}
        results["profiles"][p] = entry

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json.tmp"), "w") as f:
        json.dump(results, f, indent=2)
    os.replace(os.path.join(args.out, "results.json.tmp"), os.path.join(args.out, "results.json"))
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["profile", "pipeline", "test", "image_rps_median", "stock_rps_median", "ratio"])
        w.writerows(rows)

    print(f"| profile | -P | test | image rps (median of {args.repetitions}) | {peer} rps | image/{peer} |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")
    for p, e in results["profiles"].items():
        if "skipped" in e:
            print(f"{p}: skipped: {e['skipped']}")
        elif e.get("gate_calls_per_get"):
            print(f"{p}: gate calls per GET: " +
                  ", ".join(f"{b} {v:.2f}" if isinstance(v, float) else f"{b} {v}" for b, v in e["gate_calls_per_get"].items()))
    if results["emulated_cpu"]:
        print("(inside the PKU guest: emulated CPU; compare the ratios only)")
    print(f"results: {args.out}/results.json, results.csv")


if __name__ == "__main__":
    main()
