"""Shared fixtures: the binaries under test and helpers to run them.

RPXY_BUILD names the build directory (build, build/asan, ...) whose binaries
the suite runs; paths are relative to the repository root.
"""
import os
import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / os.environ.get("RPXY_BUILD", "build")
RPXY = BUILD / "rpxy"


def free_port():
    """A TCP port nobody listens on right now (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_rpxy(*args, env=None, timeout=30, cwd=None):
    """Runs rpxy to completion; returns the CompletedProcess (text mode)."""
    full_env = dict(os.environ)
    full_env.pop("RUST_LOG", None)
    full_env.pop("RPXY_LOG", None)
    if env:
        full_env.update(env)
    return subprocess.run([str(RPXY), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd)


@pytest.fixture
def write_config(tmp_path):
    """Writes TOML text to a file in a temporary directory; returns its path."""
    def write(text, name="config.toml"):
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


@pytest.fixture
def check(write_config):
    """Runs `rpxy --config FILE --check` on TOML text."""
    def run(text):
        path = write_config(text)
        return path, run_rpxy("--config", path, "--check")
    return run


@pytest.fixture
def backend():
    from backends import EchoBackend
    b = EchoBackend("b0")
    yield b
    b.stop()


@pytest.fixture
def start_proxy(tmp_path):
    """start_proxy(config_text) -> Proxy; the text may use {port} for the
    listen port. Every proxy is stopped (SIGTERM) after the test, which must
    exit 0: a crash or a sanitizer report fails the test."""
    from backends import Proxy
    started = []

    def start(config, env=None, log_dir=None):
        port, tls_port = free_port(), free_port()
        text = config.replace("{port}", str(port)).replace("{tls_port}", str(tls_port))
        wait = port if "{port}" in config else tls_port
        p = Proxy(tmp_path, text, wait, env=env, log_dir=log_dir)
        p.port, p.tls_port = port, tls_port
        started.append(p)
        return p

    yield start
    for p in started:
        rc = p.stop()
        assert rc == 0, f"rpxy exited {rc}:\n{p.log()[-3000:]}"
