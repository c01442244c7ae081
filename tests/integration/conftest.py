"""Shared fixtures: the binaries under test and helpers to run them.

RPXY_BUILD names the build directory (build, build/asan, ...) whose binaries
the suite runs; paths are relative to the repository root.
"""
import errno
import os
import random
import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / os.environ.get("RPXY_BUILD", "build")
RPXY = BUILD / "rpxy"


# Ports handed out by free_port(): below the kernel's ephemeral range (32768-
# 60999 by default), which connect() and bind(port 0) draw from, so that no
# outgoing connection, of this test or another, takes a port between
# free_port() and its bind; and below bench/run.sh's default 28400-28403.
PORT_RANGE = (12000, 28000)
_ports = {}


def _port_slice():
    """[lo, hi): this process's share of PORT_RANGE. Under pytest-xdist each
    worker (PYTEST_XDIST_WORKER gwN of PYTEST_XDIST_WORKER_COUNT) has its own
    slice, so two workers never hand out the same port. That matters all the
    more as rpxy listens with SO_REUSEPORT: two proxies given one port would
    both start and share its connections instead of one failing to bind.
    None when the ephemeral range leaves no room (then the kernel picks)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        eph_low = 32768
    lo, hi = PORT_RANGE[0], min(PORT_RANGE[1], eph_low)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    size = (hi - lo) // workers
    if size < 200:
        return None
    return lo + index * size, lo + (index + 1) * size


def _unused(port):
    """Nothing has PORT, TCP (listening, connected or in TIME_WAIT) or UDP:
    plain binds without SO_REUSEADDR/SO_REUSEPORT succeed."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port():
    """A port nothing uses right now, from this process's slice (see
    _port_slice), handed out in turn from a random start: a port comes back
    only after the whole slice, and two test sessions on one machine
    (another checkout's `make test`) are unlikely to meet. Nothing holds it
    afterwards: the caller binds it, or uses it as a port nobody listens on."""
    if not _ports:
        _ports["slice"] = _port_slice()
        if _ports["slice"]:
            _ports["next"] = random.randrange(*_ports["slice"])
    if not _ports["slice"]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    lo, hi = _ports["slice"]
    for _ in range(hi - lo):
        port = _ports["next"]
        _ports["next"] = port + 1 if port + 1 < hi else lo
        if _unused(port):
            return port
    raise RuntimeError(f"no free port in {lo}-{hi - 1}")


def in_use(exc):
    """Did this start fail because a port was taken meanwhile (by a process
    outside this test session)?"""
    return isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE or \
        "Address already in use" in str(exc)


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
    exit 0: a crash or a sanitizer report fails the test. The first proxy of
    a test has its config in rpxy.toml, the next ones in rpxy-2.toml, ...
    (each proxy watches its own file)."""
    from backends import Proxy
    started = []

    def start(config, env=None, log_dir=None):
        name = f"rpxy-{len(started) + 1}" if started else "rpxy"
        for attempt in range(3):
            port, tls_port = free_port(), free_port()
            text = config.replace("{port}", str(port)).replace("{tls_port}", str(tls_port))
            wait = port if "{port}" in config else tls_port
            also = (tls_port,) if "{port}" in config and "{tls_port}" in config else ()
            try:
                p = Proxy(tmp_path, text, wait, env=env, log_dir=log_dir, name=name,
                          also_wait=also)
                break
            except AssertionError as e:
                # rpxy could not bind: another process took the port after
                # free_port() saw it free. Anything else is the test's failure.
                if attempt == 2 or not in_use(e):
                    raise
        p.port, p.tls_port = port, tls_port
        started.append(p)
        return p

    yield start
    for p in started:
        rc = p.stop()
        assert rc == 0, f"rpxy exited {rc}:\n{p.log()[-3000:]}"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow(seconds): takes about that long on its own (testssl, a 15 s "
        "timeout, a browser). Under pytest-xdist these run first, longest first, so that the "
        "other workers share out the short tests meanwhile instead of waiting at the end "
        "for a long test started last")


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, tests marked slow first, longest first, then the
    rest in collection order (every worker sorts its collection the same
    way, as xdist requires). A serial run keeps the file order."""
    def seconds(item):
        mark = item.get_closest_marker("slow")
        return mark.kwargs.get("seconds", 1) if mark else 0

    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=seconds, reverse=True)
