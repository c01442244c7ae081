"""Runs the repository's make targets against the build under test
(RPXY_BUILD picks the FLAVOR), for the install and packaging tests."""
import os
import subprocess

from conftest import BUILD, REPO

FLAVORS = {"build": "release", "build/debug": "debug", "build/asan": "asan"}


def flavor():
    rel = os.path.relpath(BUILD, REPO)
    assert rel in FLAVORS, f"RPXY_BUILD={rel} is not a build directory of make: {sorted(FLAVORS)}"
    return FLAVORS[rel]


def make(*args, timeout=300):
    """`make -s FLAVOR=<of RPXY_BUILD> ARGS`; returns the CompletedProcess,
    asserting it succeeded."""
    r = subprocess.run(["make", "-s", "-C", str(REPO), f"FLAVOR={flavor()}", *args],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"make {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r
