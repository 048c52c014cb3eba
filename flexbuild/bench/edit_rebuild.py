#!/usr/bin/env python3
"""The developer's inner loop: how long flexbuild takes to rebuild an image after a one-file edit.

    flexbuild/bench/edit_rebuild.py [--flexbuild build/bin/flexbuild] [--baseline OTHER/bin/flexbuild]
                                    [--profile redis-1comp] [--source apps/redis/src/commands_string.cc]
                                    [--repetitions 5] [--json FILE]

Each flexbuild gets a copy of the source tree (apps/, libos/, profiles/) in a temporary folder, so the
real tree is never edited, and builds the image there once (not measured). Then, --repetitions times, the
copy of --source gets one more line (a comment, so the transformed copy changes and the source is
recompiled) and the image is rebuilt: the figure is the rebuild's wall time, with flexbuild's own
per-step times (resolve, generate, transform, compile, link, check) and the number of transform and
compile commands it ran. With --baseline, the two flexbuilds alternate edit by edit (A/B), so a load on
the machine weighs on both alike. Reports medians; --json writes every measurement.

To compare with an older flexbuild, build it in another folder (e.g. a worktree of main) and pass its
build/bin/flexbuild as --baseline: it finds its flex-transform and runtime beside it.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEP = re.compile(r"^flexbuild: (\w+):\s+(.*) \(([0-9.]+) s\)$")
COMMANDS = re.compile(r"^(\d+) commands? run$")


class Subject:
    """One flexbuild with its own copy of the tree and its own image folder."""

    def __init__(self, label, flexbuild, profile, source, work):
        self.label = label
        self.flexbuild = os.path.abspath(flexbuild)
        self.tree = os.path.join(work, label, "tree")
        self.image = os.path.join(work, label, "image")
        for sub in ("apps", "libos", "profiles"):
            shutil.copytree(os.path.join(ROOT, sub), os.path.join(self.tree, sub), symlinks=True)
        self.profile = os.path.join(self.tree, "profiles", profile + ".yaml")
        self.source = os.path.join(self.tree, source)
        self.runs = []

    def build(self):
        """Runs flexbuild; returns (wall seconds, {step: (seconds, commands or None)})."""
        cmd = [self.flexbuild, "--profile", self.profile, "--root", self.tree, "-o", self.image]
        start = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - start
        if r.returncode != 0:
            raise RuntimeError(f"{self.label}: flexbuild failed (status {r.returncode}):\n{r.stdout}{r.stderr}")
        steps = {}
        for line in r.stdout.splitlines():
            m = STEP.match(line)
            if m:
                n = COMMANDS.match(m.group(2))
                steps[m.group(1)] = (float(m.group(3)), int(n.group(1)) if n else 0)
        return wall, steps

    def edit_and_rebuild(self, n):
        # A comment at the end: the source and its transformed copy change, nothing else does.
        with open(self.source, "a") as f:
            f.write(f"// edit_rebuild: edit {n}\n")
        wall, steps = self.build()
        self.runs.append({"wall_s": wall, "steps": {k: {"s": s, "commands": c} for k, (s, c) in steps.items()}})


def median_of(runs, key):
    return statistics.median(key(r) for r in runs)


def report(subject):
    runs = subject.runs
    steps = list(runs[0]["steps"])
    print(f"{subject.label}: {subject.flexbuild}")
    print(f"  rebuild after a one-file edit: median {median_of(runs, lambda r: r['wall_s']):.2f} s "
          f"(runs: {', '.join('%.2f' % r['wall_s'] for r in runs)})")
    for step in steps:
        s = median_of(runs, lambda r: r["steps"].get(step, {}).get("s", 0.0))
        c = median_of(runs, lambda r: r["steps"].get(step, {}).get("commands", 0))
        print(f"    {step:<9} {s:6.2f} s  ({c:g} commands)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flexbuild", default=os.path.join(ROOT, "build", "bin", "flexbuild"))
    ap.add_argument("--baseline", help="another flexbuild to compare with, edit by edit")
    ap.add_argument("--profile", default="redis-1comp", help="a profile of profiles/ (name without .yaml)")
    ap.add_argument("--source", default="apps/redis/src/commands_string.cc",
                    help="the source to edit, relative to the tree")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--json", help="write every measurement here")
    args = ap.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the temporary trees and images are removed either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="flex-edit-rebuild-") as work:
        subjects = []
        if args.baseline:
            subjects.append(Subject("before", args.baseline, args.profile, args.source, work))
        subjects.append(Subject("after" if args.baseline else "flexbuild", args.flexbuild, args.profile,
                                args.source, work))
        try:
            for s in subjects:
                wall, _ = s.build()
                print(f"{s.label}: first build {wall:.1f} s (not measured)", flush=True)
            for n in range(args.repetitions):
                for s in subjects:
                    s.edit_and_rebuild(n)
        except RuntimeError as e:
            print(f"edit_rebuild: {e}", file=sys.stderr)
            return 1
    print(f"profile {args.profile}, edited {args.source}, {args.repetitions} edits, {os.cpu_count()} CPUs")
    for s in subjects:
        report(s)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"profile": args.profile, "source": args.source,
                       "subjects": [{"label": s.label, "flexbuild": s.flexbuild, "runs": s.runs} for s in subjects]},
                      f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
