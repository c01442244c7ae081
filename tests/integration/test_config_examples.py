"""Every shipped config parses cleanly: config-example.toml (every key) and
examples/*.toml."""
import re

import pytest

from conftest import REPO, run_rpxy

EXAMPLES = [REPO / "config-example.toml", *sorted((REPO / "examples").glob("*.toml"))]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_is_valid(path):
    r = run_rpxy("--config", path, "--check")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.endswith(f"{path}: configuration is valid (0 warnings)\n")


def test_config_example_uses_every_key():
    """config-example.toml mirrors rpxy's example and shows every documented key."""
    reference = (REPO / "docs" / "config.md").read_text()
    keys = set(re.findall(r"^\| `([a-z0-9_]+)`", reference, re.M))
    example = (REPO / "config-example.toml").read_text()
    # keys that only appear commented out or as table headers in the example
    written = set(re.findall(r"^\s*#?\s*([a-z0-9_]+)\s*=", example, re.M))
    written |= set(re.findall(r"[{,]\s*([a-z0-9_]+)\s*=", example))
    written |= set(re.findall(r"^\[+(?:[a-z0-9_]+\.)*([a-z0-9_]+)\]+", example, re.M))
    missing = keys - written - {"https_redirection_port"}
    assert not missing, f"config-example.toml lacks {sorted(missing)}"


def test_quickstart_summary():
    r = run_rpxy("--config", REPO / "examples" / "quickstart.toml", "--check")
    assert r.returncode == 0
    assert "  http  127.0.0.1:8080\n" in r.stdout
    assert "    route /api -> replace_path /v1  [load_balance round_robin]\n" in r.stdout
