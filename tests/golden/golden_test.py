#!/usr/bin/env python3
"""The whole-tree golden test of flex-transform, as flexbuild drives it.

For every profile in tests/golden/profiles/, flexbuild builds the tree in tests/golden/tree/ and the test
compares what the transformer and the gate generator produced with tests/golden/expected/<profile>/:
  src/<compartment>/<library>/...   every transformed copy
  gates.cc                          the generated gates (wrappers, export tables, callbacks)
  image.json                        image.json without addresses and sizes: compartments, boundaries,
                                    gates, shared variables, callbacks, shared literals, diagnostics
Absolute paths are written as $TREE and $IMAGE. Images this machine can run (no mpk) are also run.

  golden_test.py --flexbuild build/bin/flexbuild                    # compare; print diffs; exit 1 on any
  golden_test.py --flexbuild build/bin/flexbuild --update-goldens   # rewrite expected/, then review
                                                                    # it with `git diff tests/golden`
"""
import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.join(HERE, "tree")
PROFILES = os.path.join(HERE, "profiles")
EXPECTED = os.path.join(HERE, "expected")
RUN_OUTPUT = "shop: total 10 checked 7 audits 2 cxx 2"


def normalise(text, image_dir):
    return text.replace(image_dir, "$IMAGE").replace(TREE, "$TREE")


def image_view(image_json, image_dir):
    """image.json without what depends on the link (addresses, sizes) or the machine."""
    img = json.loads(normalise(open(image_json).read(), image_dir))
    keep = {
        "compartments": [{k: c[k] for k in ("name", "isolation", "default", "libraries", "replicated")}
                         for c in img["compartments"]],
        "boundaries": img["boundaries"],
        "gates": img["gates"],
        "shared_variables": img["shared_variables"],
        "callbacks": img["callbacks"],
        "shared_literals": img["shared_literals"],
        "transform_diagnostics": img["transform_diagnostics"],
    }
    return json.dumps(keep, indent=2, sort_keys=True) + "\n"


def produced(flexbuild, profile, work):
    """{relative path: content} of what one profile's build produced."""
    name = os.path.splitext(os.path.basename(profile))[0]
    image_dir = os.path.join(work, name)
    r = subprocess.run([flexbuild, "--profile", profile, "--root", TREE, "-o", image_dir],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{profile}: flexbuild failed:\n{r.stdout}{r.stderr}")
    files = {}
    src = os.path.join(image_dir, "work", "src")
    for dirpath, _, names in os.walk(src):
        for n in names:
            path = os.path.join(dirpath, n)
            files[os.path.join("src", os.path.relpath(path, src))] = normalise(open(path).read(), image_dir)
    files["gates.cc"] = normalise(open(os.path.join(image_dir, "work", "gen", "gates.cc")).read(), image_dir)
    files["image.json"] = image_view(os.path.join(image_dir, "image.json"), image_dir)
    isolations = {c["isolation"] for c in json.loads(files["image.json"])["compartments"]}
    if "mpk" not in isolations:
        exe = os.path.join(image_dir, json.load(open(os.path.join(image_dir, "image.json")))["name"])
        run = subprocess.run([exe], capture_output=True, text=True, timeout=60)
        if run.returncode != 0 or RUN_OUTPUT not in run.stdout:
            raise RuntimeError(f"{profile}: the image did not run as expected (status {run.returncode}):\n"
                               f"{run.stdout}{run.stderr}")
    return name, files


def expected_files(name):
    base = os.path.join(EXPECTED, name)
    files = {}
    for dirpath, _, names in os.walk(base):
        for n in names:
            path = os.path.join(dirpath, n)
            files[os.path.relpath(path, base)] = open(path).read()
    return files


def write_expected(name, files):
    """Replaces expected/<name> as a whole: written beside it, then swapped in."""
    os.makedirs(EXPECTED, exist_ok=True)
    staging = tempfile.mkdtemp(dir=EXPECTED, prefix=f".{name}-")
    for rel, text in files.items():
        path = os.path.join(staging, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    target = os.path.join(EXPECTED, name)
    old = target + ".old"
    if os.path.exists(target):
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flexbuild", required=True)
    ap.add_argument("--update-goldens", action="store_true", help="rewrite tests/golden/expected/")
    args = ap.parse_args()
    profiles = sorted(os.path.join(PROFILES, p) for p in os.listdir(PROFILES) if p.endswith(".yaml"))
    if not profiles:
        print(f"golden: no profiles in {PROFILES}")
        return 1
    failures = 0
    with tempfile.TemporaryDirectory(prefix="flex-golden-") as work:
        for profile in profiles:
            try:
                name, got = produced(os.path.abspath(args.flexbuild), profile, work)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print(f"golden: {e}")
                failures += 1
                continue
            want = expected_files(name)
            if args.update_goldens:
                changed = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
                write_expected(name, got)
                print(f"golden: {name}: {len(changed)} files updated" + "".join(f"\n  {c}" for c in changed))
                continue
            differ = 0
            for rel in sorted(set(got) | set(want)):
                if rel not in want:
                    print(f"golden: {name}: unexpected file {rel}")
                elif rel not in got:
                    print(f"golden: {name}: missing file {rel}")
                elif got[rel] != want[rel]:
                    sys.stdout.writelines(difflib.unified_diff(
                        want[rel].splitlines(True), got[rel].splitlines(True),
                        f"expected/{name}/{rel}", f"produced/{name}/{rel}"))
                else:
                    continue
                differ += 1
            print(f"golden: {name}: " + (f"{differ} files differ" if differ else f"ok ({len(got)} files)"))
            failures += differ > 0
    if failures and not args.update_goldens:
        print("golden: if the change is intended, run tests/golden/golden_test.py --flexbuild build/bin/flexbuild "
              "--update-goldens and review `git diff tests/golden`")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
