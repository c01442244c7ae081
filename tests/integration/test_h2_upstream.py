"""HTTP/2 towards upstreams (SPEC 4.9 step 14, 4.10; docs/config.md
"HTTP/2"): `force_http2_upstream` sends HTTP/1.1 clients' requests to an
h2c backend with the right pseudo-headers and no connection-specific
fields, on one multiplexed connection per worker; GOAWAY and refused
streams are retried on a new connection, other resets are 502 (or a cut
response once it began); trailers from an h2 upstream reach HTTP/2 and
HTTP/1.1 clients. The backend is python3-h2 (grpc_backend.H2Backend)."""
import json
import socket
import threading
import time

import certs
import h2frames as hf
from grpc_backend import H2Backend, h1_request, h2_tls_context, read_h1_response


def h2_config(backend, options='["force_http2_upstream"]', extra="", location=None, tls=False):
    loc = location or f"127.0.0.1:{backend.port}"
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.a]
server_name = "a.test"
[[apps.a.reverse_proxy]]
upstream = [{{ location = "{loc}", tls = {str(tls).lower()} }}]
upstream_options = {options}
"""


def get(port, path, headers=""):
    return h1_request(port, f"GET {path} HTTP/1.1\r\nHost: a.test\r\n{headers}"
                            f"Connection: close\r\n\r\n".encode())


def chunked(*parts):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts)


CONNECTION_SPECIFIC = ("connection", "keep-alive", "proxy-connection", "transfer-encoding",
                       "upgrade", "host", "x-hop")


def test_http11_client_forced_to_h2c_upstream(start_proxy):
    be = H2Backend()
    p = start_proxy(h2_config(be))
    big = bytes(range(48, 123)) * 600  # 45,000 ASCII bytes
    parts = [b"hello", b" ", big, b"!"]
    head = (b"POST /p/x?q=1 HTTP/1.1\r\n"
            b"Host: a.test\r\n"
            b"Connection: keep-alive, X-Hop\r\n"
            b"Keep-Alive: timeout=5\r\n"
            b"X-Hop: dropped by Connection\r\n"
            b"Proxy-Connection: keep-alive\r\n"
            b"TE: trailers, deflate\r\n"
            b"X-Custom: kept\r\n"
            b"Content-Type: text/plain\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
        s.sendall(head)
        # the body in pieces, as a streaming client sends it
        for part in parts:
            s.sendall(chunked(part))
            time.sleep(0.05)
        s.sendall(b"0\r\n\r\n")
        r = read_h1_response(s)
        assert r.complete and r.status == 200, r
        assert r.header("server") == "rpxy"
        assert r.header("x-backend") == "h2"
        # the client connection stays usable (keep-alive)
        s.sendall(b"GET /second HTTP/1.1\r\nHost: a.test\r\n\r\n")
        r2 = read_h1_response(s)
        assert r2.complete and r2.status == 200, r2
    info = r.json()
    req = be.requests[0]
    assert req.conn.alpn is None  # prior knowledge, no TLS
    names = [k for k, _ in req.headers]
    # pseudo-headers first, every name lower-case
    pseudo = [k for k in names if k.startswith(":")]
    assert names[:len(pseudo)] == pseudo, names
    assert sorted(pseudo) == [":authority", ":method", ":path", ":scheme"], names
    assert all(k == k.lower() for k in names), names
    assert req.header(":method") == "POST"
    assert req.header(":path") == "/p/x?q=1"
    assert req.header(":authority") == "a.test"
    assert req.header(":scheme") == "http"
    for name in CONNECTION_SPECIFIC:
        assert req.values(name) == [], (name, req.headers)
    assert req.values("te") == ["trailers"]
    assert req.values("x-custom") == ["kept"]
    assert req.values("content-type") == ["text/plain"]
    # forwarding headers (SPEC 5.1)
    assert req.values("x-forwarded-for") == ["127.0.0.1"]
    assert req.values("x-real-ip") == ["127.0.0.1"]
    assert req.values("x-forwarded-proto") == ["http"]
    assert req.values("x-forwarded-port") == [str(p.port)]
    assert req.values("x-forwarded-ssl") == ["off"]
    assert req.values("x-original-uri") == ["/p/x?q=1"]
    assert req.values("x-forwarded-host") == ["a.test"]
    assert req.values("proxy") == [""]
    # the chunked body arrived intact, as one stream
    assert bytes(req.body) == b"".join(parts)
    assert info["body"] == b"".join(parts).decode()
    assert req.trailers is None
    # the second request: the same upstream connection, a new stream
    second = be.requests[1]
    assert second.path == "/second" and second.header(":method") == "GET"
    assert second.conn_index == 0 and second.stream_id > req.stream_id
    assert bytes(second.body) == b""
    assert be.accepted == 1
    be.stop()


def test_chunked_request_trailers_reach_h2_upstream(start_proxy):
    be = H2Backend()
    p = start_proxy(h2_config(be))
    r = h1_request(p.port, b"POST /with-trailers HTTP/1.1\r\nHost: a.test\r\nTE: trailers\r\n"
                           b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + chunked(b"abc", b"defg") + b"0\r\nX-Req-Trailer: v1\r\nX-Sum: 7\r\n\r\n")
    assert r.status == 200, r
    req = be.requests[0]
    assert bytes(req.body) == b"abcdefg"
    assert req.trailers == [("x-req-trailer", "v1"), ("x-sum", "7")], req
    be.stop()


def test_many_concurrent_requests_share_one_connection_per_worker(start_proxy):
    be = H2Backend()
    p = start_proxy(h2_config(be, extra="worker_threads = 2"))
    results = [None] * 50

    def one(i):
        try:
            results[i] = get(p.port, f"/slow?s=0.5&i={i}")
        except Exception as e:  # noqa: BLE001 - shown by the assertion below
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - t0
    bad = [(i, r) for i, r in enumerate(results) if getattr(r, "status", None) != 200]
    assert not bad, bad[:5]
    for i, r in enumerate(results):
        assert dict(map(tuple, r.json()["headers"]))[":path"] == f"/slow?s=0.5&i={i}"
    assert len(be.requests) == 50
    # at most one upstream connection per worker thread
    assert 1 <= be.accepted <= 2, f"{be.accepted} upstream connections for 2 workers"
    # really multiplexed: 50 requests of 0.5 s on <= 2 connections
    assert be.max_inflight >= 10, be.max_inflight
    assert elapsed < 8, f"50 concurrent 0.5 s requests took {elapsed:.1f}s"
    be.stop()


def test_goaway_refused_stream_is_retried_on_a_new_connection(start_proxy):
    """Stream 1 (/hold) is in flight when /second arrives on the same
    connection; the backend answers /second with GOAWAY(last_stream_id = 1)
    and never answers it there. The proxy retries /second on a new
    connection; /hold still completes on the old one."""
    be = H2Backend()
    be.goaway_path = "/second"
    p = start_proxy(h2_config(be, extra="worker_threads = 1"))
    held = {}
    t = threading.Thread(target=lambda: held.setdefault("r", get(p.port, "/hold")))
    t.start()
    hold_req = be.wait_request("/hold")
    r = get(p.port, "/second")
    assert be.goaway_sent.is_set()
    assert r.status == 200, (r, p.log()[-2000:])
    info = r.json()
    assert info["conn"] == 1, info  # answered on a second connection
    seen = [(q.conn_index, q.stream_id) for q in be.requests if q.path == "/second"]
    assert len(seen) == 2 and seen[0][0] == 0 and seen[1][0] == 1, seen
    assert seen[0][1] > hold_req.stream_id
    # the stream below last_stream_id is still answered on the old connection
    be.release.set()
    t.join(10)
    assert held["r"].status == 200, held
    assert held["r"].json()["conn"] == 0
    # and later requests use the new connection
    r3 = get(p.port, "/third")
    assert r3.status == 200 and r3.json()["conn"] == 1
    assert be.accepted == 2
    be.stop()


def goaway_with_hold(start_proxy):
    """A backend that answers /second with GOAWAY below it while /hold is
    in flight on the same connection."""
    be = H2Backend()
    be.goaway_path = "/second"
    p = start_proxy(h2_config(be, extra="worker_threads = 1"))
    held = {}
    t = threading.Thread(target=lambda: held.setdefault("r", get(p.port, "/hold")))
    t.start()
    be.wait_request("/hold")

    def finish():
        be.release.set()
        t.join(10)
        assert held["r"].status == 200, held
        assert held["r"].json()["conn"] == 0
        be.stop()
    return be, p, finish


def test_goaway_refused_request_with_a_body_is_replayed(start_proxy):
    """The refused request carries a body the backend read in full before
    refusing it: the proxy kept what it sent and replays head and body on a
    new connection."""
    be, p, finish = goaway_with_hold(start_proxy)
    r = h1_request(p.port, b"POST /second HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n"
                           b"Content-Length: 5\r\n\r\nhello")
    assert be.goaway_sent.is_set()
    assert r.status == 200, (r, p.log()[-2000:])
    info = r.json()
    assert info["conn"] == 1 and info["body"] == "hello", info
    seen = [q for q in be.requests if q.path == "/second"]
    assert [(q.conn_index, bytes(q.body)) for q in seen] == [(0, b"hello"), (1, b"hello")], seen
    assert seen[1].values("content-length") == ["5"]
    finish()


def test_goaway_refused_chunked_request_is_replayed_with_its_trailers(start_proxy):
    be, p, finish = goaway_with_hold(start_proxy)
    parts = [b"x" * 10000, b"y" * 10000, b"z" * 10000]
    r = h1_request(p.port, b"POST /second HTTP/1.1\r\nHost: a.test\r\nTE: trailers\r\n"
                           b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + chunked(*parts) + b"0\r\nX-Sum: 30000\r\n\r\n")
    assert r.status == 200, (r, p.log()[-2000:])
    info = r.json()
    assert info["conn"] == 1, info
    assert info["body"] == b"".join(parts).decode()
    assert info["trailers"] == [["x-sum", "30000"]], info["trailers"]
    assert [q.conn_index for q in be.requests if q.path == "/second"] == [0, 1]
    finish()


def test_goaway_refused_request_too_large_to_replay_is_502(start_proxy):
    """Beyond 48 KiB of head and body sent, the proxy keeps no copy: the
    refusal is final (SPEC 4.10 'any failure to obtain a response -> 502')."""
    be, p, finish = goaway_with_hold(start_proxy)
    body = b"b" * 200000
    r = h1_request(p.port, b"POST /second HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n"
                           b"Content-Length: 200000\r\n\r\n" + body)
    assert r.status == 502, r
    first = [q for q in be.requests if q.path == "/second"]
    assert len(first) == 1 and len(first[0].body) == 200000, first
    p.wait_log(r"ERROR Failed to get response from backend: HTTP/2 stream refused")
    finish()


def test_reset_before_response_is_502(start_proxy):
    be = H2Backend()
    p = start_proxy(h2_config(be, extra="worker_threads = 1"))
    r = get(p.port, "/reset")
    assert r.status == 502, r
    assert r.body == b""
    p.wait_log(r"ERROR Failed to get response from backend: .*a\.test <- 127\.0\.0\.1:\d+ -- "
               r"GET /reset ")
    p.wait_log(r"GET /reset HTTP/1\.1 -- 502 ")
    # the upstream connection survives a stream reset
    r2 = get(p.port, "/after")
    assert r2.status == 200 and r2.json()["conn"] == 0
    assert be.accepted == 1
    # not retried: the backend saw /reset once
    assert be.paths().count("/reset") == 1
    be.stop()


def test_refused_stream_is_retried(start_proxy):
    """RST_STREAM REFUSED_STREAM means the upstream did not process the
    request: it is retried once, on a new connection."""
    be = H2Backend()
    p = start_proxy(h2_config(be, extra="worker_threads = 1"))
    r = get(p.port, "/refuse-once")
    assert r.status == 200, (r, p.log()[-2000:])
    assert be.paths().count("/refuse-once") == 2
    assert r.json()["conn"] == 1
    be.stop()


def test_refused_stream_with_a_body_from_an_h2_client_is_retried(start_proxy):
    """The same from an HTTP/2 client sending its body in DATA frames."""
    be = H2Backend()
    p = start_proxy(h2_config(be, extra="worker_threads = 1"))
    with hf.H2Conn.plain(p.port) as c:
        sid = c.request("POST", "/refuse-once", "a.test", body=b"first,", end_stream=False)
        time.sleep(0.05)
        c.send_body(sid, b"second", end_stream=True)
        resp = c.response(sid)
    assert resp.status == 200, (resp, p.log()[-2000:])
    info = resp.json()
    assert info["conn"] == 1 and info["body"] == "first,second", info
    assert [bytes(q.body) for q in be.requests] == [b"first,second"] * 2
    be.stop()


def test_reset_after_response_began_cuts_the_response(start_proxy):
    be = H2Backend()
    p = start_proxy(h2_config(be))
    # HTTP/1.1 client: the chunked body never gets its last chunk
    r = get(p.port, "/reset-mid")
    assert r.status == 200, r
    assert r.chunked and not r.complete, f"a reset response looks complete: {r}"
    assert r.body == b"partial", r
    # HTTP/2 client: the stream is reset, not ended
    with hf.H2Conn.plain(p.port) as c:
        st = c.response(c.request("GET", "/reset-mid", authority="a.test"), timeout=10)
        assert st.status == 200
        assert st.reset is not None and not st.ended, st
        assert bytes(st.body) == b"partial"
        # the client connection goes on
        st2 = c.get("/fine", authority="a.test")
        assert st2.status == 200 and st2.ended
    be.stop()


def test_trailers_reach_an_http2_client(start_proxy):
    be = H2Backend()
    p = start_proxy(h2_config(be))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/trailers", authority="a.test", headers=[("te", "trailers")])
        assert st.status == 200 and st.ended, st
        assert bytes(st.body) == b"hello world"
        assert st.trailers == [("x-trailer-a", "1"), ("x-trailer-b", "two")], st
        mine = [f for f in c.frames if f.stream_id == st.id]
        heads = [f for f in mine if f.type == hf.HEADERS]
        assert len(heads) == 2 and heads[1].flags & hf.END_STREAM, mine
        assert not any(f.flags & hf.END_STREAM for f in mine if f.type == hf.DATA), mine
    assert be.requests[0].values("te") == ["trailers"]
    be.stop()


def test_trailers_reach_an_http11_client_that_accepts_them(start_proxy):
    be = H2Backend()
    p = start_proxy(h2_config(be))
    r = get(p.port, "/trailers", headers="TE: trailers\r\n")
    assert r.status == 200 and r.complete, r
    assert r.chunked, r
    assert r.body == b"hello world"
    assert r.trailers == [("x-trailer-a", "1"), ("x-trailer-b", "two")], r.raw
    assert be.requests[0].values("te") == ["trailers"]
    be.stop()


def test_trailers_to_an_http11_client_without_te(start_proxy):
    """Without `TE: trailers` the response is still a complete chunked
    body; the proxy relays the trailers anyway (RFC 9112 7.1.2 lets a
    recipient discard them), and the upstream got no te."""
    be = H2Backend()
    p = start_proxy(h2_config(be))
    r = get(p.port, "/trailers")
    assert r.status == 200 and r.complete and r.chunked, r
    assert r.body == b"hello world"
    assert r.trailers == [("x-trailer-a", "1"), ("x-trailer-b", "two")], r.raw
    assert be.requests[0].values("te") == []
    be.stop()


def test_tls_upstream_gets_h2_by_alpn(start_proxy, tmp_path):
    """An HTTP/2 client's request to a `tls = true` upstream travels over
    h2 (ALPN), without force_http2_upstream; an HTTP/1.1 client's request
    too once the upstream chose h2."""
    ca = certs.make_ca("upstream CA")
    ca_path = certs.write_ca(ca, str(tmp_path))
    crt, key = certs.make_leaf(ca, ["localhost"]).write(str(tmp_path), "localhost")
    be = H2Backend(tls_context=h2_tls_context(crt, key, alpn=("h2", "http/1.1")))
    p = start_proxy(h2_config(be, options="[]", location=f"localhost:{be.port}", tls=True),
                    env={"SSL_CERT_FILE": ca_path})
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/over-tls", authority="a.test")
        assert st.status == 200, (st, p.log()[-2000:])
        info = st.json()
    assert info["alpn"] == "h2"
    assert dict(map(tuple, info["headers"]))[":scheme"] == "https"
    assert dict(map(tuple, info["headers"]))[":path"] == "/over-tls"
    r = get(p.port, "/h1-client")
    assert r.status == 200, r
    assert r.json()["alpn"] == "h2"
    be.stop()


def test_client_reset_cancels_only_that_upstream_stream(start_proxy):
    """An HTTP/2 client resets one of two streams in flight: the proxy
    resets that stream upstream (CANCEL) and keeps the shared upstream
    connection, so the other stream completes."""
    be = H2Backend()
    p = start_proxy(h2_config(be, extra="worker_threads = 1"))
    with hf.H2Conn.plain(p.port) as c:
        keep = c.request("GET", "/slow?s=1&n=keep", authority="a.test")
        gone = c.request("GET", "/slow?s=1&n=gone", authority="a.test")
        target = be.wait_request("/slow?s=1&n=gone")
        be.wait_request("/slow?s=1&n=keep")
        c.send(hf.rst_frame(gone, hf.CANCEL))
        deadline = time.monotonic() + 3
        while target.reset is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert target.reset == hf.CANCEL, (target, be.resets)
        st = c.response(keep, timeout=10)
        assert st.status == 200 and st.ended, st
        assert dict(map(tuple, st.json()["headers"]))[":path"] == "/slow?s=1&n=keep"
    kept = be.wait_request("/slow?s=1&n=keep")
    assert kept.reset is None
    assert kept.conn_index == target.conn_index == 0
    assert be.accepted == 1
    be.stop()


def test_long_lived_upstream_connection_keeps_its_flow_control_window(start_proxy):
    """Many responses on one upstream connection, 3 MiB in all (three times
    the connection window the proxy announces, 1 MiB): every byte the
    proxy passes on must be credited back with WINDOW_UPDATE, including a
    response's last bytes when its stream already ended (DATA and
    trailers in one write), or the connection stalls for good."""
    be = H2Backend()
    p = start_proxy(h2_config(be, extra="worker_threads = 1"))
    n = 24000
    with hf.H2Conn.plain(p.port) as c:
        for i in range(130):
            st = c.get(f"/bytes?n={n}&i={i}", authority="a.test", headers=[("te", "trailers")],
                       timeout=5)
            assert st.status == 200 and st.ended, (i, st)
            assert len(st.body) == n and st.trailers == [("x-sent", str(n))], (i, st)
    assert be.accepted == 1
    # the same through HTTP/1.1 clients
    for i in range(50):
        r = get(p.port, f"/bytes?n={n}&h1={i}")
        assert r.status == 200 and r.complete and len(r.body) == n, (i, r)
    assert be.accepted == 1
    be.stop()


def test_tls_upstream_response_in_many_records_at_once(start_proxy, tmp_path):
    """An h2 upstream over TLS whose response (60 small DATA frames and
    trailers, one TLS record each) reaches the proxy in one burst: every
    record is read, although no more bytes (no new readiness) follow."""
    ca = certs.make_ca("upstream CA")
    ca_path = certs.write_ca(ca, str(tmp_path))
    crt, key = certs.make_leaf(ca, ["localhost"]).write(str(tmp_path), "localhost")
    be = H2Backend(tls_context=h2_tls_context(crt, key))
    p = start_proxy(h2_config(be, location=f"localhost:{be.port}", tls=True),
                    env={"SSL_CERT_FILE": ca_path})
    want = b"".join(b"piece-%03d;" % i for i in range(60))
    with hf.H2Conn.plain(p.port) as c:
        for i in range(3):
            st = c.get(f"/pieces?n=60&i={i}", authority="a.test", headers=[("te", "trailers")],
                       timeout=5)
            assert st.status == 200 and st.ended, (i, len(st.body), st.trailers)
            assert bytes(st.body) == want
            assert st.trailers == [("x-pieces", "60")]
    r = get(p.port, "/pieces?n=60&h1=1", headers="TE: trailers\r\n")
    assert r.status == 200 and r.complete and r.body == want, r
    be.stop()
