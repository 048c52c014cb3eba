#!/usr/bin/env python3
"""Writes a compile_commands.json for a flex-transform test.

    write_cdb.py --clang C --clangxx CXX --include INC DIR [FLAGS...] -- FILE...

One entry per FILE, compiled in DIR with C (for .c) or CXX (for anything else), -IINC and FLAGS, the way
flexbuild's compilation database lists a library's sources.
"""
import json
import os
import sys


def main(argv):
    opts = {}
    while argv and argv[0] in ("--clang", "--clangxx", "--include"):
        opts[argv[0]] = argv[1]
        argv = argv[2:]
    if "--" not in argv or not argv:
        sys.exit("usage: write_cdb.py --clang C --clangxx CXX --include INC DIR [FLAGS...] -- FILE...")
    split = argv.index("--")
    directory, flags, files = argv[0], argv[1:split], argv[split + 1:]
    directory = os.path.abspath(directory)
    entries = []
    for name in files:
        path = os.path.join(directory, name)
        is_c = name.endswith(".c")
        compiler = opts["--clang"] if is_c else opts["--clangxx"]
        std = "-std=c17" if is_c else "-std=c++20"
        entries.append({
            "directory": directory,
            "file": path,
            "arguments": [compiler, std, "-I" + opts["--include"], *flags, "-c", path,
                          "-o", path + ".o"],
        })
    with open(os.path.join(directory, "compile_commands.json"), "w") as out:
        json.dump(entries, out, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
