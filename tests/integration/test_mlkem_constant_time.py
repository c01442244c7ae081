"""ML-KEM-768 handles secrets in constant time: build/mlkem-ct marks the
seeds, the encapsulation randomness and the secret key as undefined for
valgrind's memcheck, which then reports any branch or memory index that
depends on them (tools/mlkem_ct.c). Always the release build: sanitizer
builds cannot run under valgrind."""
import shutil
import subprocess

from conftest import REPO


def test_no_secret_dependent_branches_or_indexes():
    assert shutil.which("valgrind"), "valgrind is installed by scripts/install-deps.sh"
    r = subprocess.run(["valgrind", "-q", "--error-exitcode=1", str(REPO / "build" / "mlkem-ct")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "built without" not in r.stderr
    assert "results correct" in r.stdout
