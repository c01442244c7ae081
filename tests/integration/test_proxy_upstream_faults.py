"""An upstream that refuses, resets, stalls or answers garbage yields
502/504 to that client only; the proxy keeps serving others."""
import json
import threading
import time

from backends import EchoBackend, RawBackend, raw_request, read_head
from conftest import free_port

H = b"Host: app.test\r\n"


def config(port, extra=""):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
upstream_connect_timeout = 1
upstream_response_timeout = 1
{extra}
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{port}" }}] }}]
"""


def get(p, path=b"/"):
    return raw_request(p.port, b"GET " + path + b" HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")


def test_refused_is_502(start_proxy):
    p = start_proxy(config(free_port()))
    out = get(p)
    assert out.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    p.wait_log(r"ERROR Failed to get response from backend: connect: Connection refused: app\.test")
    p.wait_log(r"app\.test <- 127\.0\.0\.1:\d+ -- GET / HTTP/1\.1 -- 502 Bad Gateway -- /")


def test_closed_without_response_is_502(start_proxy):
    b = RawBackend(lambda c: read_head(c))
    p = start_proxy(config(b.port))
    assert get(p).startswith(b"HTTP/1.1 502 ")
    b.stop()


def test_malformed_response_is_502(start_proxy):
    def handler(c):
        read_head(c)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
    b = RawBackend(handler)
    p = start_proxy(config(b.port))
    assert get(p).startswith(b"HTTP/1.1 502 ")
    b.stop()


def test_garbage_response_is_502(start_proxy):
    def handler(c):
        read_head(c)
        c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    b = RawBackend(handler)
    p = start_proxy(config(b.port))
    assert get(p).startswith(b"HTTP/1.1 502 ")
    b.stop()


def test_stalled_upstream_is_504(start_proxy):
    def handler(c):
        read_head(c)
        time.sleep(3)
    b = RawBackend(handler)
    p = start_proxy(config(b.port))
    t0 = time.monotonic()
    assert get(p).startswith(b"HTTP/1.1 504 Gateway Timeout\r\n")
    assert time.monotonic() - t0 < 2.5
    b.stop()


def test_reset_mid_body_closes_client(start_proxy):
    def handler(c):
        read_head(c)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
    b = RawBackend(handler)
    p = start_proxy(config(b.port))
    out = get(p)
    assert out.startswith(b"HTTP/1.1 200 OK")
    assert len(out.split(b"\r\n\r\n", 1)[1]) < 100000, "a truncated body is not completed"
    b.stop()


def test_failure_affects_only_that_client(start_proxy):
    good = EchoBackend("good")
    cfg = f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.bad]
server_name = "bad.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{free_port()}" }}] }}]
[apps.good]
server_name = "good.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{good.port}" }}] }}]
"""
    p = start_proxy(cfg)
    for _ in range(5):
        assert raw_request(p.port, b"GET / HTTP/1.1\r\nHost: bad.test\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 502")
        out = raw_request(p.port, b"GET /ok HTTP/1.1\r\nHost: good.test\r\nConnection: close\r\n\r\n")
        assert json.loads(out.split(b"\r\n\r\n", 1)[1])["path"] == "/ok"
    good.stop()


def test_stale_pooled_connection_is_retried(start_proxy):
    """The backend closes idle keep-alive connections right after answering
    (as a backend with a short keep-alive timeout does); the next request on
    that pooled connection must be retried, not fail."""
    served = []

    def handler(c):
        read_head(c)
        served.append(1)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        time.sleep(0.05)
        # keep-alive was advertised, but the server closes now

    b = RawBackend(handler)
    p = start_proxy(config(b.port))
    for _ in range(4):
        out = get(p)
        assert out.startswith(b"HTTP/1.1 200 OK"), out[:100]
        time.sleep(0.2)
    b.stop()


def test_reused_connection_failing_before_response_is_retried(start_proxy):
    """The backend answers the first request of a connection and closes the
    connection when a second one arrives on it, without answering (as a
    backend does whose keep-alive timer fired just then). The proxy must
    retry that request once on a fresh connection: both clients get 200."""
    conns = []

    def handler(c):
        conns.append(c)
        read_head(c)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
        read_head(c)  # the reused connection: close without an answer

    b = RawBackend(handler)
    p = start_proxy(config(b.port, "worker_threads = 1"))  # one pool: the reuse is certain
    assert get(p, b"/one").endswith(b"first")
    out = get(p, b"/two")
    assert out.startswith(b"HTTP/1.1 200 OK"), out[:200]
    assert b.accepted == 2, "the retry used a new upstream connection"
    b.stop()


def test_request_with_body_is_not_replayed(start_proxy):
    def handler(c):
        read_head(c)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
        read_head(c)

    b = RawBackend(handler)
    p = start_proxy(config(b.port, "worker_threads = 1"))  # one pool: the reuse is certain
    assert get(p, b"/one").endswith(b"first")
    out = raw_request(p.port, b"POST /two HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nConnection: close\r\n\r\nabc")
    assert out.startswith(b"HTTP/1.1 502 "), "a request with a body is never sent twice"
    assert b.accepted == 1
    b.stop()


def test_response_ending_with_its_fin_in_the_same_segment_ends_promptly(start_proxy):
    # the whole close-delimited response and the FIN arrive in one epoll edge:
    # the proxy must still see the end (it once took a short read as "drained")
    import socket

    def answer(conn):
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        conn.shutdown(socket.SHUT_WR)

    be = RawBackend(answer)
    p = start_proxy(config(be.port))
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)  # socket.timeout here means the proxy hung
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"all of it")
    be.stop()


def test_chunked_response_stalling_mid_chunk_header_keeps_the_worker_serving(start_proxy):
    """A chunked response that stops in the middle of a chunk-size line (or
    its trailer) is no progress: the exchange must wait for the upstream's
    next bytes like any other, not spin. With one worker, another request
    is answered meanwhile; the stalled one completes once the rest comes."""
    release = threading.Event()

    def handler(conn):
        head = read_head(conn)
        if b"/stall" not in head:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
                     b"x-trailer: part")
        release.wait(10)
        conn.sendall(b"ial\r\n\r\n")
        time.sleep(0.2)

    b = RawBackend(handler)
    p = start_proxy(config(b.port, "worker_threads = 1").replace(
        "upstream_response_timeout = 1\n", "upstream_response_timeout = 10\n"))
    result = {}
    stalled = threading.Thread(target=lambda: result.setdefault("out", get(p, b"/stall")))
    stalled.start()
    time.sleep(0.5)
    started = time.monotonic()
    out = get(p, b"/other")
    assert out.startswith(b"HTTP/1.1 200 OK") and out.endswith(b"ok"), out
    assert time.monotonic() - started < 2, "the worker was not serving"
    release.set()
    stalled.join(10)
    assert result["out"].startswith(b"HTTP/1.1 200 OK")
    assert b"5\r\nhello\r\n0\r\nx-trailer: partial\r\n\r\n" in result["out"], result["out"]
    b.stop()
