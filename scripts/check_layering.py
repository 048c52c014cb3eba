#!/usr/bin/env python3
"""Checks that Flex's layers depend one way (DESIGN.md §1): apps -> libos -> runtime -> base, and tools
(flexbuild, explorer, transform) -> base and public headers. Run by the test suite (ctest `layering`).

    scripts/check_layering.py [--root DIR]

Every #include of a C/C++ source or header under the tree is resolved to the component that owns it (the
component whose include/ folder holds the header, or the file a quoted relative include names), and every
CMakeLists.txt path into another component's folder is read too. A violation is printed as
`path:line: what and why` and the exit status is 1:
  - a layer includes a layer above it (libos -> flexbuild, runtime -> libos, base -> runtime, ...);
  - a component includes another component's internals: an *_impl.h outside its own folder (except the
    seams declared in SEAMS), or a file under another component's src/;
  - a CMakeLists.txt names another component's src/ or include/ folder by path instead of linking its
    target (the porting API folder runtime/include is public and may be named).
"""
import argparse
import os
import re
import sys

# Rank of each layer: a component may include its own layer and those below it. Tools sit beside the
# libOS, not above the runtime's internals: they may use the runtime's public headers and base libraries.
LAYERS = {"base": 0, "runtime": 1, "libos": 2, "apps": 3, "tools": 3, "tests": 4}
TOOL_DIRS = ("flexbuild", "explorer", "transform")

# Internals one part of the runtime may use from another, with the reason.
SEAMS = {
    # malloc's dispatch table lives in the mpk runtime page, which boot makes read-only: the heap reads it
    # there so that no compartment can redirect allocations.
    ("runtime/heap", "runtime/mpk/include/flex/runtime/mpk_impl.h"),
}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
CMAKE_PATH_RE = re.compile(r'\$\{CMAKE_(?:CURRENT_)?SOURCE_DIR\}((?:/[\w.+-]+)+)')
SOURCE_EXT = (".c", ".cc", ".cpp", ".h", ".hpp")
SKIP_DIRS = {".git", "node_modules"}


def component_of(rel):
    """(layer, component folder) of a path relative to the root, or (None, None) outside every layer."""
    parts = rel.split("/")
    top = parts[0]
    if top in TOOL_DIRS:
        return "tools", top
    if top in ("base", "runtime", "libos", "apps") and len(parts) > 1:
        if top == "runtime" and parts[1] == "include":
            return "runtime", "runtime/include"  # the porting API
        if top == "runtime" and len(parts) > 2 and parts[1] not in ("core", "mpk", "process", "heap"):
            return "runtime", "runtime"
        return top, "/".join(parts[:2])
    if top == "tests":
        return "tests", "tests"
    return None, None


def walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        # Build trees (build/, build-*/) sit at the top; flexbuild's own headers live in .../flex/build.
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and not (rel_dir == "." and d.startswith("build")))
        # Test inputs of the transformer and the golden trees are data, not code of a layer.
        if rel_dir.startswith(("tests/golden", "transform/test", "transform/flex-port/tests")):
            continue
        for f in sorted(filenames):
            yield os.path.normpath(os.path.join(rel_dir, f))


def header_index(root, files):
    """Maps an include spelling (flex/net/net.h) to the file that defines it (libos/net/include/...)."""
    index = {}
    for rel in files:
        if not rel.endswith(SOURCE_EXT):
            continue
        m = re.match(r"^(.*?/include)/(.+)$", rel)
        if m:
            index.setdefault(m.group(2), rel)
    return index


def resolve(root, rel, kind, spelled, index):
    if kind == '"':
        local = os.path.normpath(os.path.join(os.path.dirname(rel), spelled))
        if os.path.exists(os.path.join(root, local)):
            return local
    return index.get(spelled)


def include_violation(rel, target):
    layer, comp = component_of(rel)
    t_layer, t_comp = component_of(target)
    if layer is None or t_layer is None or comp == t_comp:
        return None
    if t_layer == "tests" and layer != "tests":
        if os.path.basename(rel).endswith(("_test.cc", "_test.h")):
            return None  # a test of another component may use the shared test helpers
        return f"includes {target}: code does not depend on the tests"
    if os.path.basename(target).endswith("_impl.h") and (comp, target) not in SEAMS:
        return f"includes {target}, an implementer's header of {t_comp}: use its public header"
    if "/src/" in target:
        return f"includes {target}, a source file of {t_comp}: move what it needs to a public header"
    if layer == "tools" and t_layer == "tools":
        return None  # tools share public headers (the explorer drives flexbuild's model)
    if layer == "tools" and t_layer in ("libos", "apps"):
        return f"includes {target}: tools use base libraries and public runtime headers, not the libOS"
    if layer != "tools" and t_layer == "tools":
        return f"includes {target}: {comp} is below the tools and must not depend on {t_comp}"
    if LAYERS[t_layer] > LAYERS[layer]:
        return f"includes {target}: {layer} is below {t_layer} (apps -> libos -> runtime -> base)"
    return None


def cmake_violations(root, rel, text):
    _, comp = component_of(rel)
    if comp is None:
        return
    for n, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        for m in CMAKE_PATH_RE.finditer(code):
            path = m.group(1).lstrip("/")
            _, t_comp = component_of(path + "/x")
            if t_comp is None or t_comp == comp or comp == "tests" or t_comp == "runtime/include":
                continue
            if "/src" in "/" + path or "/include" in "/" + path:
                yield n, f"names {path} by path: link the target of {t_comp} instead"
        for m in re.finditer(r'(\.\./)+[\w./+-]+', code):
            path = os.path.normpath(os.path.join(os.path.dirname(rel), m.group(0)))
            _, t_comp = component_of(path + "/x")
            if t_comp and t_comp != comp and t_comp != "runtime/include" and comp != "tests":
                yield n, f"names {path} by a relative path: link the target of {t_comp} instead"


def check(root):
    files = list(walk(root))
    index = header_index(root, files)
    problems = []
    for rel in files:
        path = os.path.join(root, rel)
        if rel.endswith(SOURCE_EXT):
            with open(path, errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE_RE.match(line)
                    if not m:
                        continue
                    target = resolve(root, rel, m.group(1), m.group(2), index)
                    if target is None:
                        continue  # a system or third-party header
                    why = include_violation(rel, target)
                    if why:
                        problems.append(f"{rel}:{n}: {why}")
        elif os.path.basename(rel) == "CMakeLists.txt":
            with open(path, errors="replace") as f:
                for n, why in cmake_violations(root, rel, f.read()):
                    problems.append(f"{rel}:{n}: {why}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = ap.parse_args()
    problems = check(os.path.abspath(args.root))
    for p in problems:
        print(p)
    if problems:
        print(f"check_layering: {len(problems)} violation{'s' if len(problems) != 1 else ''} "
              "(DESIGN.md §1: apps -> libos -> runtime -> base; tools -> base and public headers)")
        return 1
    print("check_layering: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
