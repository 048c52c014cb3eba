#!/usr/bin/env python3
"""Golden reports: `flexbuild report --json` of hello-2comp, hello-2comp-process and redis-3comp, each built
afresh into a temporary folder, against tests/golden/reports/<profile>.json.

A report holds no addresses and no times, so two builds of the same sources give the same report: the
golden stays true until the sources or the report change. Paths are written as $ROOT (the source tree)
and $IMAGE (the image folder).

  report_golden.py --flexbuild build/bin/flexbuild                    # compare; print diffs; exit 1 on any
  report_golden.py --flexbuild build/bin/flexbuild --update-goldens   # rewrite them, then review them
                                                                      # with `git diff tests/golden/reports`
"""
import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOLDENS = os.path.join(HERE, "reports")
PROFILES = ["hello-2comp", "hello-2comp-process", "redis-3comp"]


def report(flexbuild, profile, work):
    image_dir = os.path.join(work, profile)
    r = subprocess.run([flexbuild, "report", "--json", "--profile", os.path.join(ROOT, "profiles", profile + ".yaml"),
                        "--root", ROOT, "-o", image_dir], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{profile}: flexbuild report failed (status {r.returncode}):\n{r.stderr[-3000:]}")
    text = r.stdout.replace(image_dir, "$IMAGE").replace(ROOT, "$ROOT")
    return json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flexbuild", required=True)
    ap.add_argument("--update-goldens", action="store_true")
    args = ap.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="flex-report-golden-") as work:
        for profile in PROFILES:
            got = report(os.path.abspath(args.flexbuild), profile, work)
            path = os.path.join(GOLDENS, profile + ".json")
            if args.update_goldens:
                os.makedirs(GOLDENS, exist_ok=True)
                with open(path + ".tmp", "w") as f:
                    f.write(got)
                os.replace(path + ".tmp", path)
                print(f"{profile}: written {os.path.relpath(path, ROOT)}")
                continue
            want = open(path).read() if os.path.exists(path) else ""
            if got == want:
                print(f"{profile}: same as {os.path.relpath(path, ROOT)}")
                continue
            failed = True
            print(f"{profile}: differs from {os.path.relpath(path, ROOT)} (rerun with --update-goldens if intended):")
            sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "built"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
