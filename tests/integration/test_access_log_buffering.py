"""The buffered access log under load: every request has exactly one whole
line (two worker threads, a file or a pipe as destination), none is lost
when the files are rotated (SIGUSR1), the configuration reloaded (SIGHUP) or
the proxy stops (SIGTERM), and a line is written promptly, not when a buffer
happens to fill up."""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from backends import raw_request
from conftest import BUILD, RPXY, free_port

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
# Long lines, so that a batch of them is far above PIPE_BUF (4 KiB): a pipe
# splits such writes, and only the logger's lock keeps two batches apart.
AGENT = "load-" + "x" * 1500


@pytest.fixture
def fast_backend():
    """The C backend of bench/run.sh: Python's server would be the bottleneck."""
    port = free_port()
    proc = subprocess.Popen([str(BUILD / "bench-backend"), "--quiet", f"127.0.0.1:{port}"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            raw_request(port, b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            break
        except OSError:
            time.sleep(0.05)
    proc.port = port
    yield proc
    proc.terminate()
    proc.wait()


def config(backend):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
worker_threads = 2
[apps.app]
server_name = "localhost"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
"""


def access_re(port, backend_port):
    """One access line of an h2load request to http://localhost:PORT/load/N."""
    return re.compile(
        rf"{TS} localhost:{port} <- 127\.0\.0\.1:\d+ -- GET /load/(\d+) HTTP/1\.1 -- "
        rf"200 OK -- /load/\d+ \"{AGENT}\", \"127\.0\.0\.1\" "
        rf"\"http://127\.0\.0\.1:{backend_port}/load/(\d+)\"")


def h2load(port, n, conns=32, agent=AGENT, paths=8):
    """Starts h2load with N requests over CONNS keep-alive connections,
    cycling through PATHS paths /load/0 ... (each request's line must name
    the same path twice)."""
    urls = [f"http://localhost:{port}/load/{i}" for i in range(paths)]
    return subprocess.Popen(["h2load", "--h1", "-n", str(n), "-c", str(conns), "-t", "1",
                             "-H", f"User-Agent: {agent}", *urls],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def h2load_2xx(proc, timeout=120):
    """Waits for h2load; returns how many 2xx responses it got."""
    out, _ = proc.communicate(timeout=timeout)
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    assert m, out
    assert m.group(2, 3, 4) == ("0", "0", "0"), out
    return int(m.group(1))


def check_lines(text, pattern):
    """Every line of TEXT is a whole access line naming one path twice;
    returns their count."""
    lines = text.split("\n")
    assert lines[-1] == "", "the log ends with a newline"
    for line in lines[:-1]:
        m = pattern.fullmatch(line)
        assert m and m.group(1) == m.group(2), f"not one whole line: {line[:300]!r}"
    return len(lines) - 1


def wait_count(path, want, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= want:
            break
        time.sleep(0.05)
    return path.read_text()


def test_two_workers_file_lines_whole(fast_backend, start_proxy, tmp_path):
    logs = tmp_path / "logs"
    p = start_proxy(config(fast_backend), log_dir=logs)
    n = 6000
    assert h2load_2xx(h2load(p.port, n, conns=64)) == n
    text = wait_count(logs / "access.log", n)
    assert check_lines(text, access_re(p.port, fast_backend.port)) == n
    assert "<- " not in (logs / "rpxy.log").read_text()


def test_two_workers_pipe_lines_whole(fast_backend, tmp_path):
    """stdout a pipe (as under a supervisor), read slowly enough that it
    fills: access lines and system lines, each whole, all of them."""
    port = free_port()
    cfg = tmp_path / "rpxy.toml"
    cfg.write_text(config(fast_backend).replace("{port}", str(port)))
    env = {k: v for k, v in os.environ.items() if k not in ("RUST_LOG", "RPXY_LOG")}
    proc = subprocess.Popen([str(RPXY), "--config", str(cfg)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    chunks = []

    def read():
        while True:
            data = proc.stdout.read1(4096)
            if not data:
                return
            chunks.append(data)
            time.sleep(0.0005)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while b"rpxy is ready" not in b"".join(chunks):
            assert time.monotonic() < deadline and proc.poll() is None, b"".join(chunks)
            time.sleep(0.05)
        n = 6000
        assert h2load_2xx(h2load(port, n, conns=64)) == n
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        reader.join(timeout=10)
    text = b"".join(chunks).decode()
    pattern = access_re(port, fast_backend.port)
    system = re.compile(rf"{TS} (ERROR| WARN| INFO|DEBUG|TRACE) .*")
    access = 0
    for line in text.split("\n")[:-1]:
        assert line.startswith(tuple("0123456789")), f"not one whole line: {line[:300]!r}"
        if " INFO localhost:" in line[:50]:
            m = pattern.fullmatch(line.replace("  INFO ", " ", 1))
            assert m and m.group(1) == m.group(2), f"not one whole line: {line[:300]!r}"
            access += 1
        else:
            assert system.fullmatch(line), f"not one whole line: {line[:300]!r}"
    assert text.endswith("INFO rpxy stopped\n")
    assert access == n


def test_sigusr1_rotation_under_load_loses_nothing(fast_backend, start_proxy, tmp_path):
    logs = tmp_path / "logs"
    p = start_proxy(config(fast_backend), log_dir=logs)
    n = 40000
    load = h2load(p.port, n, agent="rotation")
    rotated = []
    while load.poll() is None:
        time.sleep(0.1)
        if load.poll() is not None:
            break
        path = logs / f"access.log.{len(rotated) + 1}"
        os.rename(logs / "access.log", path)
        rotated.append(path)
        p.signal(signal.SIGUSR1)
    assert h2load_2xx(load) == n
    assert len(rotated) >= 2, "the load ended before two rotations"
    assert p.stop() == 0
    pattern = re.compile(access_re(p.port, fast_backend.port).pattern.replace(AGENT, "rotation"))
    counts = [check_lines(path.read_text(), pattern) for path in [*rotated, logs / "access.log"]]
    assert sum(counts) == n, counts
    # the lines are spread over the files (the last one may be empty when
    # the load ended right after the last rotation)
    assert counts[0] > 0 and sum(c > 0 for c in counts) >= 2, counts
    assert (logs / "rpxy.log").read_text().count("Log files reopened") == len(rotated)


def test_reload_under_load_loses_nothing(fast_backend, start_proxy, tmp_path):
    logs = tmp_path / "logs"
    p = start_proxy(config(fast_backend), log_dir=logs)
    n = 30000
    load = h2load(p.port, n, agent="reload")
    reloads = 0
    while load.poll() is None and reloads < 3:
        time.sleep(0.2)
        p.signal(signal.SIGHUP)  # forces a reload: new runtime, workers switch
        reloads += 1
    assert h2load_2xx(load) == n
    assert reloads >= 2, "the load ended before two reloads"
    assert p.stop() == 0
    pattern = re.compile(access_re(p.port, fast_backend.port).pattern.replace(AGENT, "reload"))
    assert check_lines((logs / "access.log").read_text(), pattern) == n
    assert (logs / "rpxy.log").read_text().count("Configuration updated.") >= 2


def test_sigterm_under_load_loses_nothing(fast_backend, start_proxy, tmp_path):
    logs = tmp_path / "logs"
    p = start_proxy(config(fast_backend), log_dir=logs)
    load = h2load(p.port, 1000000, agent="stop")
    access = logs / "access.log"
    deadline = time.monotonic() + 10
    while access.stat().st_size < 100000:
        assert time.monotonic() < deadline and load.poll() is None, "no load"
        time.sleep(0.02)
    assert p.stop() == 0
    out, _ = load.communicate(timeout=30)
    m = re.search(r"status codes: (\d+) 2xx", out)
    assert m, out
    pattern = re.compile(access_re(p.port, fast_backend.port).pattern.replace(AGENT, "stop"))
    lines = check_lines(access.read_text(), pattern)
    assert lines == int(m.group(1)), (lines, out)
    assert 0 < lines < 1000000


def test_line_written_promptly_when_traffic_stops(fast_backend, start_proxy, tmp_path):
    logs = tmp_path / "logs"
    p = start_proxy(config(fast_backend), log_dir=logs)
    access = logs / "access.log"
    assert h2load_2xx(h2load(p.port, 300, conns=8, agent="burst")) == 300
    wait_count(access, 300)
    for i in range(3):
        t0 = time.monotonic()
        raw_request(p.port, f"GET /alone/{i} HTTP/1.1\r\nHost: localhost\r\n"
                            "Connection: close\r\n\r\n".encode())
        while f"GET /alone/{i} " not in access.read_text():
            assert time.monotonic() - t0 < 1.0, f"line {i} not written within 1 s"
            time.sleep(0.01)
    assert access.read_text().count("\n") == 303
