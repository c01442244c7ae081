"""SIGTERM/SIGINT: stop accepting, let requests in progress finish, exit 0."""
import signal
import socket
import threading
import time

from backends import raw_request


def config(backend, extra=""):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
"""


def test_graceful_drain(backend, start_proxy):
    p = start_proxy(config(backend))
    idle = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    result = {}
    t = threading.Thread(target=lambda: result.update(out=raw_request(
        p.port, b"GET /slow?s=1 HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")))
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    t.join()
    assert result["out"].startswith(b"HTTP/1.1 200"), "the request in progress finished"
    assert idle.recv(10) == b"", "idle connections are closed"
    assert p.proc.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 4
    p.wait_log(r"SIGTERM received: shutting down gracefully")
    try:
        socket.create_connection(("127.0.0.1", p.port), timeout=0.5).close()
        raise AssertionError("still accepting after shutdown")
    except OSError:
        pass


def test_drain_deadline(backend, start_proxy):
    p = start_proxy(config(backend, "shutdown_timeout = 1"))
    t = threading.Thread(target=lambda: raw_request(
        p.port, b"GET /slow?s=5 HTTP/1.1\r\nHost: app.test\r\n\r\n"))
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    p.signal(signal.SIGINT)
    assert p.proc.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 3
    t.join()
