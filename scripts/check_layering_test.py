#!/usr/bin/env python3
"""Tests of scripts/check_layering.py: the tree passes, and a copy of it with one planted violation of each
kind fails, naming the file and line of the violation."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK = os.path.join(ROOT, "scripts", "check_layering.py")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import check_layering  # noqa: E402


def run(root):
    r = subprocess.run([sys.executable, CHECK, "--root", root], capture_output=True, text=True)
    return r.returncode, r.stdout


class Layering(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="flex_layering_")
        for rel in check_layering.walk(ROOT):
            if rel.endswith(check_layering.SOURCE_EXT) or os.path.basename(rel) == "CMakeLists.txt":
                dst = os.path.join(cls.tmp, rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(os.path.join(ROOT, rel), dst)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def planted(self, rel, line, expect):
        """Prepends `line` to rel in the copy, checks the failure names rel:1 and `expect`, then restores."""
        path = os.path.join(self.tmp, rel)
        with open(path) as f:
            original = f.read()
        try:
            with open(path, "w") as f:
                f.write(line + "\n" + original)
            rc, out = run(self.tmp)
            self.assertEqual(rc, 1, out)
            self.assertIn(f"{rel}:1: ", out)
            self.assertIn(expect, out)
        finally:
            with open(path, "w") as f:
                f.write(original)

    def test_the_tree_passes(self):
        rc, out = run(ROOT)
        self.assertEqual(rc, 0, out)

    def test_the_copy_passes_before_anything_is_planted(self):
        rc, out = run(self.tmp)
        self.assertEqual(rc, 0, out)

    def test_libos_including_a_tool_fails(self):
        self.planted("libos/net/src/net_wait.cc", "#include <flex/build/profile.h>",
                     "libos/net is below the tools and must not depend on flexbuild")

    def test_runtime_including_the_libos_fails(self):
        self.planted("runtime/core/src/boot.cc", "#include <flex/net/net.h>", "runtime is below libos")

    def test_base_including_the_runtime_fails(self):
        self.planted("base/tlsf/src/tlsf.cc", '#include "flex/runtime/gate.h"', "base is below runtime")

    def test_an_impl_header_of_another_component_fails(self):
        self.planted("runtime/core/src/boot.cc", '#include "flex/runtime/process_impl.h"',
                     "an implementer's header of runtime/process")

    def test_a_tool_including_runtime_internals_fails(self):
        self.planted("flexbuild/src/driver.cc", '#include "flex/runtime/mpk_impl.h"',
                     "an implementer's header of runtime/mpk")

    def test_cmake_naming_another_components_headers_by_path_fails(self):
        self.planted("libos/vfs/CMakeLists.txt",
                     "target_include_directories(flex_vfs PRIVATE ${CMAKE_SOURCE_DIR}/libos/console/include)",
                     "link the target of libos/console instead")


if __name__ == "__main__":
    unittest.main()
