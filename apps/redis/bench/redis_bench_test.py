#!/usr/bin/env python3
"""Tests of redis_bench.py's --pin: bad CPU lists are refused before anything is built or run, naming the
option and what it takes; good ones put taskset in front of the servers' and the client's commands."""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "redis_bench.py")
sys.path.insert(0, HERE)
import redis_bench  # noqa: E402


def run(*args):
    r = subprocess.run([sys.executable, BENCH, *args], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


class Pin(unittest.TestCase):
    def test_bad_cpu_lists_are_refused_with_what_is_expected(self):
        cpus = sorted(os.sched_getaffinity(0))
        outside = str(cpus[-1] + 1)
        for pin, said in (("x", "expected two CPU lists, SERVER:CLIENT"), ("0", "expected two CPU lists"),
                          ("0:" + outside, f"'{outside}' is not a range of CPUs this process may use"),
                          ("1-0:0", "'1-0' is not a range"), ("0-:0", "'0-' is not a range"),
                          ("0,:0", "'' is not a range")):
            rc, out = run("--pin", pin, "--profiles", "redis-1comp")
            self.assertEqual(rc, 2, out)
            self.assertIn(f"--pin '{pin}'", out)
            self.assertIn(said, out)

    def test_a_good_pin_passes_and_prefixes_taskset(self):
        rc, out = run("--pin", "0:0", "--profiles", "no-such-profile")
        self.assertEqual(rc, 1, out)  # past the pin: the next check is the profile's
        self.assertIn("no profile profiles/no-such-profile.yaml", out)
        redis_bench.PIN = ("0", "1")
        try:
            self.assertEqual(redis_bench.pinned(["redis-server"], 0), ["taskset", "-c", "0", "redis-server"])
            self.assertEqual(redis_bench.pinned(["redis-benchmark"], 1), ["taskset", "-c", "1", "redis-benchmark"])
        finally:
            redis_bench.PIN = None
        self.assertEqual(redis_bench.pinned(["redis-server"], 0), ["redis-server"])


if __name__ == "__main__":
    unittest.main()
