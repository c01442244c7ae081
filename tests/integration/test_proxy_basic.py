"""HTTP/1.1 proxying end to end: methods, bodies, keep-alive, pipelining,
HTTP/1.0, absolute-form, response header policy."""
import http.client
import json
import socket

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


def request(proxy, method, path, body=None, headers=None, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    h = {"Host": "app.test"}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    return r, data, c


def test_get_is_forwarded(backend, start_proxy):
    p = start_proxy(config(backend))
    r, data, _ = request(p, "GET", "/hello?x=1")
    assert r.status == 200
    info = json.loads(data)
    assert info["method"] == "GET" and info["path"] == "/hello?x=1"
    assert r.getheader("server") == "rpxy"
    assert r.getheader("x-backend") == "b0"
    assert r.getheader("date")


def test_post_body_and_head(backend, start_proxy):
    p = start_proxy(config(backend))
    r, data, c = request(p, "POST", "/submit", body=b"a=1&b=2",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200
    assert json.loads(data)["body"] == "a=1&b=2"
    r, data, _ = request(p, "HEAD", "/x", conn=c)
    assert r.status == 200 and data == b""
    assert int(r.getheader("content-length")) > 0
    r, data, _ = request(p, "GET", "/again", conn=c)
    assert json.loads(data)["path"] == "/again", "keep-alive after HEAD"


def test_large_bodies_stream_both_ways(backend, start_proxy):
    p = start_proxy(config(backend))
    big = b"z" * (5 * 1024 * 1024)
    r, data, c = request(p, "PUT", "/upload", body=big)
    assert r.status == 200
    assert len(json.loads(data)["body"]) == len(big)
    r, data, _ = request(p, "GET", "/big?n=3000000", conn=c)
    assert r.status == 200 and data == b"x" * 3000000


def test_chunked_request_and_response(backend, start_proxy):
    p = start_proxy(config(backend))
    raw = (b"POST /chunked HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n"
           b"Connection: close\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    out = raw_request(p.port, raw)
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding: chunked" in head.lower()
    # de-chunk
    data = b""
    while True:
        line, _, body = body.partition(b"\r\n")
        size = int(line, 16)
        if size == 0:
            break
        data += body[:size]
        body = body[size + 2:]
    info = json.loads(data)
    assert info["body"] == "hello world"
    assert ["transfer-encoding", "chunked"] in [[k.lower(), v] for k, v in info["headers"]]


def test_keep_alive_reuses_both_connections(backend, start_proxy):
    p = start_proxy(config(backend))
    c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
    for i in range(20):
        r, data, _ = request(p, "GET", f"/n{i}", conn=c)
        assert json.loads(data)["path"] == f"/n{i}"
    assert len(backend.requests) == 20


def test_pipelined_requests_answered_in_order(backend, start_proxy):
    p = start_proxy(config(backend))
    raw = b"".join(b"GET /p%d HTTP/1.1\r\nHost: app.test\r\n\r\n" % i for i in range(5))
    raw += b"GET /last HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"
    out = raw_request(p.port, raw)
    paths = [json.loads(part.split(b"\r\n\r\n", 1)[1].split(b"HTTP/1.1")[0])["path"]
             for part in out.split(b"HTTP/1.1 200 OK")[1:]]
    assert paths == ["/p0", "/p1", "/p2", "/p3", "/p4", "/last"]


def test_http10_client(backend, start_proxy):
    p = start_proxy(config(backend))
    out = raw_request(p.port, b"GET /old HTTP/1.0\r\nHost: app.test\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ")
    assert b"connection: close" in out.lower()
    out = raw_request(p.port, b"GET /chunked HTTP/1.0\r\nHost: app.test\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower(), "no chunked coding towards HTTP/1.0"
    assert json.loads(body)["path"] == "/chunked"


def test_absolute_form_target(backend, start_proxy):
    p = start_proxy(config(backend))
    out = raw_request(p.port, b"GET http://app.test/abs?q=1 HTTP/1.1\r\nHost: app.test\r\n"
                              b"Connection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ")
    info = json.loads(out.split(b"\r\n\r\n", 1)[1])
    assert info["path"] == "/abs?q=1"
    assert dict(info["headers"])["x-original-uri"] == "http://app.test/abs?q=1"


def test_response_hop_by_hop_and_connection_listed_removed(start_proxy):
    from backends import RawBackend, read_head

    def handler(conn):
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: X-Secret, keep-alive\r\n"
                     b"X-Secret: 1\r\nKeep-Alive: timeout=5\r\nServer: nginx\r\nAlt-Svc: h2=\":1\"\r\n"
                     b"X-Kept: yes\r\n\r\nok")

    b = RawBackend(handler)
    p = start_proxy(config(b))
    out = raw_request(p.port, b"GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    head = out.split(b"\r\n\r\n")[0].lower()
    assert b"x-secret" not in head and b"keep-alive:" not in head and b"alt-svc" not in head
    assert b"server: rpxy" in head and b"nginx" not in head
    assert b"x-kept: yes" in head
    assert out.endswith(b"\r\n\r\nok")
    b.stop()


def test_204_and_304_have_no_body(backend, start_proxy):
    p = start_proxy(config(backend))
    c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
    for status in (204, 304):
        r, data, _ = request(p, "GET", f"/status/{status}", conn=c)
        assert r.status == status and data == b""
    r, data, _ = request(p, "GET", "/after", conn=c)
    assert json.loads(data)["path"] == "/after"


def test_expect_100_continue(backend, start_proxy):
    p = start_proxy(config(backend))
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
        s.sendall(b"POST /e HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        first = s.recv(4096)
        assert first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"data")
        rest = first[25:]
        while b"}" not in rest:
            rest += s.recv(65536)
        assert rest.startswith(b"HTTP/1.1 200 ")
        assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["body"] == "data"
