"""Malformed or ambiguous requests get 400/413/414/431/501/505 and the
connection is closed when framing is in doubt; nothing reaches the backend."""
import pytest

from backends import raw_request


def config(backend):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
request_max_body_size = 1024
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
"""


H = b"Host: app.test\r\n"
CASES = [
    ("cl-and-te", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("differing-cl", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("bad-cl", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3x\r\n\r\nabc", 400),
    ("negative-cl", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", 400),
    ("te-not-final", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
    ("te-unknown", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n", 501),
    ("te-http10", b"POST / HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r\n  folded\r\n\r\n", 400),
    ("bare-cr", b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\rX-B: 2\r\n\r\n", 400),
    ("bare-lf", b"GET / HTTP/1.1\n" + H + b"\r\n", 400),
    ("space-before-colon", b"GET / HTTP/1.1\r\n" + H + b"X-A : 1\r\n\r\n", 400),
    ("no-host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two-hosts", b"GET / HTTP/1.1\r\n" + H + H + b"\r\n", 400),
    ("http2-version", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ("long-uri", b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    ("huge-header", b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 70000 + b"\r\n\r\n", 431),
    ("many-headers", b"GET / HTTP/1.1\r\n" + H + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431),
    ("bad-chunk-size", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", None),
    ("body-too-large", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1025\r\n\r\n", 413),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_refused_and_closed(backend, start_proxy, case):
    name, data, status = case
    p = start_proxy(config(backend))
    out = raw_request(p.port, data + b"GET /next HTTP/1.1\r\n" + H + b"\r\n")
    if status is None:
        # the head was fine, the body framing was not: no clean answer, but
        # the request never completes upstream and the connection is closed
        assert not any(r[3] for r in backend.requests)
        assert b"/next" not in b"".join(r[1].encode() for r in backend.requests)
        return
    assert out.startswith(b"HTTP/1.1 %d " % status), out[:200]
    head = out.split(b"\r\n\r\n")[0].lower()
    assert b"connection: close" in head
    assert b"content-length: 0" in head
    assert out.count(b"HTTP/1.1 ") == 1, "the connection is closed after the error"
    if name != "body-too-large":
        assert backend.requests == []


def test_host_mismatch_is_400_and_keeps_the_connection(backend, start_proxy):
    p = start_proxy(config(backend))
    out = raw_request(p.port, b"GET http://other.test/ HTTP/1.1\r\n" + H + b"\r\n"
                      b"GET /next HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"HTTP/1.1 200 OK" in out, "the framing was fine: the next request is served"
    assert [r[1] for r in backend.requests] == ["/next"]
    p.wait_log(r"ERROR Invalid host in request header: other\.test <- 127\.0\.0\.1:\d+ -- GET ")


def test_exactly_at_limit_passes(backend, start_proxy):
    p = start_proxy(config(backend))
    out = raw_request(p.port, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1024\r\n"
                      b"Connection: close\r\n\r\n" + b"a" * 1024)
    assert out.startswith(b"HTTP/1.1 200 ")


def test_chunked_body_over_limit_is_cut(backend, start_proxy):
    p = start_proxy(config(backend))
    body = b"".join(b"100\r\n" + b"c" * 256 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
    out = raw_request(p.port, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert not out.startswith(b"HTTP/1.1 200"), "a body over the limit never completes"
    assert all(len(r[3]) <= 1024 for r in backend.requests)
    p.wait_log(r"Request body exceeded limit: received \d+ bytes, maximum allowed 1024")


def test_idle_client_is_closed_after_header_timeout(backend, start_proxy):
    import socket
    import time
    p = start_proxy(config(backend).replace("request_max_body_size", "client_header_timeout = 1\nrequest_max_body_size"))
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\n")  # never finishes the head
    t0 = time.monotonic()
    assert s.recv(100) == b""
    assert 0.8 < time.monotonic() - t0 < 3
    s.close()
