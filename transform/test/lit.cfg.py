# lit configuration of the flex-transform tests. Run through the generated lit.site.cfg.py in the build
# tree (build/transform/test), which sets the paths used here.
#
# Substitutions:
#   %flex-transform   the tool under test
#   %clang, %clangxx  clang-19 / clang++-19, to compile inputs and transformed copies
#   %flexos-include   the folder holding <flexos/isolation.h>
#   %write-cdb DIR [FLAGS...] -- FILE...
#                     writes DIR/compile_commands.json: one entry per FILE, compiled from DIR with
#                     clang-19 (.c) or clang++-19 (.cc) and -I%flexos-include plus FLAGS
# FileCheck, split-file, not and count come from LLVM 19's tools folder. Feature `ninja`: ninja is installed.
import os

import lit.formats
import lit.util

config.name = "flex-transform"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".c", ".cc", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.dirname(__file__)

if not hasattr(config, "flex_transform"):
    lit_config.fatal("run the tests through the build tree: lit.py -sv <build>/transform/test")

config.environment["PATH"] = os.pathsep.join(
    [config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))])
# Deterministic messages: no colours, no locale-dependent output.
config.environment["LC_ALL"] = "C"

# Tests that drive flex-transform from ninja, as flexbuild does, need ninja.
if lit.util.which("ninja", config.environment["PATH"]):
    config.available_features.add("ninja")

write_cdb = os.path.join(config.test_source_root, "Inputs", "write_cdb.py")
config.substitutions.append(("%flex-transform", config.flex_transform))
config.substitutions.append(("%clangxx", config.clangxx))
config.substitutions.append(("%clang", config.clang))
config.substitutions.append(("%flexos-include", config.flexos_include_dir))
config.substitutions.append(
    ("%write-cdb", "'%s' '%s' --clang '%s' --clangxx '%s' --include '%s'" % (
        config.python_executable, write_cdb, config.clang, config.clangxx, config.flexos_include_dir)))
