#!/usr/bin/env python3
"""Malformed input never crashes flex-transform: a fuzz-style test.

From the sources of the golden tree (tests/golden/tree), which use every rewrite, it derives variants
with a fixed seed: truncated at a random byte, with bytes deleted, duplicated or replaced by one of
`(){}[];,"'#`, with an #include removed, with an unknown attribute or an unknown callback library added,
and with placeholders given too few or too many arguments. Each variant is transformed with an mpk-full
plan. Every run must end with status 0 or 1 (no signal, no other status, within the time limit); a run
with status 1 must print a clang-style `file:line:col: error:` naming the variant, and must leave no copy
of it. Variants are transformed in batches; a batch that fails the check is rerun one file at a time to
name the culprit.

  malformed_test.py --transform build/bin/flex-transform [--variants 600] [--seed 1]
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
TREE = os.path.join(SRC, "tests", "golden", "tree")
SEEDS = [os.path.join(TREE, "apps", "shop", "src", "shop.c"), os.path.join(TREE, "apps", "shop", "src", "audit.cc")]
INCLUDES = [os.path.join(SRC, "gates", "include"), os.path.join(TREE, "libos", "ledger", "include")]
PLAN = {"library": "shop", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
        "targets": {"ledger": {"compartment": "core", "gate": "mpk-full",
                               "exports": ["ledger_add", "ledger_note", "ledger_audit"]},
                    "shop": {"compartment": "app", "gate": "call", "exports": []}}}
PUNCT = list('(){}[];,"\'#')
BATCH = 24


def mutate(text, rng):
    kind = rng.choice(["truncate", "delete", "duplicate", "replace", "include", "attribute", "callback",
                       "arity", "mix"])
    n = len(text)
    if n == 0:
        return "#", kind
    if kind == "truncate":
        return text[:rng.randrange(n)], kind
    if kind == "delete":
        i = rng.randrange(n)
        return text[:i] + text[i + rng.randint(1, 40):], kind
    if kind == "duplicate":
        i = rng.randrange(n)
        return text[:i] + text[i:i + rng.randint(1, 60)] * 2 + text[i:], kind
    if kind == "replace":
        chars = list(text)
        for _ in range(rng.randint(1, 6)):
            chars[rng.randrange(n)] = rng.choice(PUNCT)
        return "".join(chars), kind
    if kind == "include":
        lines = text.split("\n")
        idx = [i for i, l in enumerate(lines) if l.startswith("#include")]
        if idx:
            del lines[rng.choice(idx)]
        return "\n".join(lines), kind
    if kind == "attribute":
        return re.sub(r"flexos_whitelist", rng.choice(["bogus_attr", "flexos_whitelist, bogus(1)",
                                                       "flexos_whitelist(3)", "flexos_whitelisted"]), text, count=1), kind
    if kind == "callback":
        return text.replace("libledger_callback", rng.choice(["libledgr_callback", "libledger_callback(1)",
                                                              "libledger_callback, libshop_callback"]), 1), kind
    if kind == "arity":
        return re.sub(r"flexos_gate_r\(libledger, (\w+), ", rng.choice(["flexos_gate_r(libledger, ",
                                                                        "flexos_gate_r(libledger, \\1, \\1, ",
                                                                        "flexos_gate_r(, \\1, "]), text, count=1), kind
    out = text
    for _ in range(3):
        out, _ = mutate(out, rng)
    return out, kind


def run(tool, work, files):
    cmd = [tool, "-p", work, "--plan", os.path.join(work, "plan.json"), "--base", os.path.join(work, "in"),
           "--out-dir", os.path.join(work, "out")] + files
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120)
    except subprocess.TimeoutExpired:
        return None, "timed out after 120 s"
    return r.returncode, r.stderr


def check_one(tool, work, path):
    """None when the run on `path` alone behaves, else what went wrong."""
    status, err = run(tool, work, [path])
    if status is None:
        return err
    if status not in (0, 1):
        return f"exit status {status} (a crash is a negative status)\n{err[-2000:]}"
    copy = os.path.join(work, "out", os.path.relpath(path, os.path.join(work, "in")))
    if status == 1:
        if not re.search(re.escape(os.path.basename(path)) + r":\d+:\d+: (fatal )?error: ", err):
            return f"status 1 without a file:line:col error naming the source\n{err[-2000:]}"
        if os.path.exists(copy):
            return "status 1, yet a copy was written"
    elif not os.path.exists(copy):
        return "status 0 without a copy"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transform", required=True)
    ap.add_argument("--variants", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    tool = os.path.abspath(args.transform)
    rng = random.Random(args.seed)
    seeds = [(p, open(p).read()) for p in SEEDS]
    with tempfile.TemporaryDirectory(prefix="flex-malformed-") as work:
        indir = os.path.join(work, "in")
        os.makedirs(indir)
        with open(os.path.join(work, "plan.json"), "w") as f:
            json.dump(PLAN, f)
        files, kinds, db = [], {}, []
        for i in range(args.variants):
            seed_path, text = seeds[i % len(seeds)]
            variant, kind = mutate(text, rng)
            ext = os.path.splitext(seed_path)[1]
            path = os.path.join(indir, f"v{i:04d}{ext}")
            with open(path, "w", errors="replace") as f:
                f.write(variant)
            compiler = "clang++-19" if ext == ".cc" else "clang-19"
            std = "-std=gnu++20" if ext == ".cc" else "-std=gnu17"
            db.append({"directory": work, "file": path,
                       "arguments": [compiler, std] + [f"-I{d}" for d in INCLUDES] + ["-c", path]})
            files.append(path)
            kinds[path] = kind
        with open(os.path.join(work, "compile_commands.json"), "w") as f:
            json.dump(db, f)

        problems = []
        for b in range(0, len(files), BATCH):
            batch = files[b:b + BATCH]
            status, err = run(tool, work, batch)
            if status in (0, 1):
                # Every source with an error is named; the others got a copy.
                bad = [p for p in batch if check_one_fast(p, err, work) is not None]
                if not bad:
                    continue
            for p in batch if status not in (0, 1) else bad:
                why = check_one(tool, work, p)
                if why:
                    problems.append(f"{os.path.basename(p)} ({kinds[p]}): {why}")
        copies = sum(len(names) for _, _, names in os.walk(os.path.join(work, "out")))
        print(f"malformed: {len(files)} variants in {(len(files) + BATCH - 1) // BATCH} batches: {copies} transformed, "
              f"{len(files) - copies} rejected with an error; {len(problems)} problems")
        for p in problems:
            print("malformed: " + p)
        if problems:
            keep = os.path.join(tempfile.gettempdir(), "flex-malformed-failures")
            os.makedirs(keep, exist_ok=True)
            for p in problems:
                name = p.split(" ")[0]
                with open(os.path.join(indir, name), errors="replace") as src, open(os.path.join(keep, name), "w") as dst:
                    dst.write(src.read())
            print(f"malformed: the failing variants are kept in {keep}")
        return 1 if problems else 0


def check_one_fast(path, err, work):
    """The batch-level check of one source: it has an error named in `err` and no copy, or a copy."""
    copy = os.path.join(work, "out", os.path.relpath(path, os.path.join(work, "in")))
    named = re.search(re.escape(os.path.basename(path)) + r":\d+:\d+: (fatal )?error: ", err) is not None
    if named:
        return "copy written despite errors" if os.path.exists(copy) else None
    return None if os.path.exists(copy) else "neither an error nor a copy"


if __name__ == "__main__":
    sys.exit(main())
