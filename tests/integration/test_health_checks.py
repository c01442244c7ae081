"""Active health checks (SPEC 7.1-7.3): tcp and http probes flip upstreams
unhealthy and healthy again, and the load balancer follows."""
import json
import re
import signal
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

import backends
from backends import EchoBackend, RawBackend, raw_request, read_head
from conftest import free_port


class EchoOnPort(EchoBackend):
    """An EchoBackend on a given port (to bring a stopped upstream back)."""

    def __init__(self, name, port):
        self.port = port
        self.server = ThreadingHTTPServer(("127.0.0.1", port), backends._Handler)
        self.server.daemon_threads = True
        self.server.name = name
        self.server.requests = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()


def config(ports, lb, health):
    ups = ", ".join(f'{{ location = "127.0.0.1:{p}" }}' for p in ports)
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "app.test"
[[apps.app.reverse_proxy]]
upstream = [{ups}]
load_balance = "{lb}"
health_check = {health}
"""


def get(p, path="/"):
    out = raw_request(p.port, f"GET {path} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n".encode())
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode().split("\r\n")[0], body


def backend_of(p):
    status, body = get(p)
    assert status == "HTTP/1.1 200 OK", (status, body)
    return json.loads(body)["backend"]


def flip_line(port, what):
    """The INFO line of one flip, as a regex."""
    n = "failures" if what == "unhealthy" else "successes"
    return (rf" INFO \[app\.test:/\] Upstream http://127\.0\.0\.1:{port} "
            rf"is now {what} \(1 consecutive {n}\)$")


@pytest.mark.slow(seconds=5)
def test_primary_backup_fails_over_and_back(start_proxy):
    primary, backup = EchoBackend("primary"), EchoBackend("backup")
    port = primary.port
    p = start_proxy(config([port, backup.port], "primary_backup",
                           '{ type = "http", path = "/health", interval = 2, timeout = 1, '
                           'unhealthy_threshold = 1, healthy_threshold = 1 }'))
    assert [backend_of(p) for _ in range(3)] == ["primary"] * 3
    probes = [r for r in primary.requests if r[1] == "/health"]
    assert probes, "the first round runs at start"
    method, _, headers, body = probes[0]
    assert method == "GET" and body == b""
    assert headers == [("Host", f"127.0.0.1:{port}"), ("Connection", "close")]

    primary.stop()
    p.wait_log(flip_line(port, "unhealthy"), timeout=5)
    assert [backend_of(p) for _ in range(3)] == ["backup"] * 3

    again = EchoOnPort("primary", port)
    p.wait_log(flip_line(port, "healthy"), timeout=5)
    assert [backend_of(p) for _ in range(3)] == ["primary"] * 3
    log = p.log()
    assert len(re.findall(r"is now (un)?healthy", log)) == 2, log
    assert "All upstreams are unhealthy" not in log
    again.stop()
    backup.stop()


def test_round_robin_tcp_skips_unhealthy(start_proxy):
    b0, b2 = EchoBackend("b0"), EchoBackend("b2")
    dead = free_port()
    p = start_proxy(config([b0.port, dead, b2.port], "round_robin",
                           "{ interval = 2, timeout = 1, unhealthy_threshold = 1 }"))
    p.wait_log(flip_line(dead, "unhealthy"), timeout=5)
    seq = [backend_of(p) for _ in range(6)]
    assert sorted(seq) == ["b0"] * 3 + ["b2"] * 3, seq
    assert all(seq[i] != seq[i + 1] for i in range(5)), seq
    assert "All upstreams are unhealthy" not in p.log()
    b0.stop()
    b2.stop()


def test_http_status_mismatch_is_unhealthy(start_proxy):
    seen = []

    def answer_200(conn):
        seen.append(read_head(conn))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    primary = RawBackend(answer_200)
    backup = EchoBackend("backup")
    # expected_status is an exact match: the primary's 200 is a failure, the
    # backup's 204 (EchoBackend serves /status/204) a success.
    p = start_proxy(config([primary.port, backup.port], "primary_backup",
                           '{ type = "http", path = "/status/204", expected_status = 204, '
                           'interval = 2, timeout = 1, unhealthy_threshold = 1 }'))
    p.wait_log(flip_line(primary.port, "unhealthy"), timeout=5)
    assert seen[0] == (b"GET /status/204 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                       b"Connection: close\r\n\r\n" % primary.port)
    assert [backend_of(p) for _ in range(3)] == ["backup"] * 3
    assert backup.port not in [int(m) for m in re.findall(r":(\d+) is now", p.log())]
    primary.stop()
    backup.stop()


def test_all_unhealthy_warns_and_serves_best_effort(start_proxy):
    dead = free_port()
    p = start_proxy(config([dead], "none", "{ interval = 2, timeout = 1, unhealthy_threshold = 1 }"))
    p.wait_log(r" WARN \[app\.test:/\] All upstreams are unhealthy, serving best-effort$", timeout=5)
    assert get(p)[0] == "HTTP/1.1 502 Bad Gateway"


def test_reload_restarts_checks_from_healthy(start_proxy):
    b0 = EchoBackend("b0")
    dead = free_port()
    p = start_proxy(config([b0.port, dead], "round_robin",
                           "{ interval = 2, timeout = 1, unhealthy_threshold = 1 }"))
    p.wait_log(flip_line(dead, "unhealthy"), timeout=5)
    p.signal(signal.SIGHUP)
    p.wait_log(r"Configuration updated\.$", timeout=5)
    # the new runtime starts all healthy and probes at once: the flip again
    deadline = time.monotonic() + 5
    while len(re.findall(flip_line(dead, "unhealthy"), p.log(), re.M)) < 2:
        assert time.monotonic() < deadline, p.log()
        time.sleep(0.05)
    assert {backend_of(p) for _ in range(4)} == {"b0"}
    b0.stop()
