"""One cache for every client protocol: an entry stored from an HTTP/1.1
request over TLS answers HTTP/2 and HTTP/3 requests for the same URI, with
the hit's own Alt-Svc, Server and Age; the access log names each version.
The authority carries no port: an HTTP/2 or HTTP/3 request sends the
upstream its host without port (SPEC 4.9 step 7) and an entry answers only
the same upstream Host (SPEC 14), as in rpxy."""
import re

import h3util
from cache_backend import CacheOrigin
from h2util import curl
from test_h3_proxy import bodies, statuses


def test_entry_stored_over_http1_answers_http2_and_http3(tmp_path, start_proxy):
    origin = CacheOrigin()
    pki = h3util.make_pki(tmp_path)
    cache = f'[experimental.cache]\ncache_dir = "{tmp_path}/cache"\n'
    p = start_proxy(h3util.h3_config(pki, origin) + cache)
    tls = ["--cacert", pki["ca"], "--resolve", f"localhost:{p.tls_port}:127.0.0.1",
           "-H", "Host: localhost"]
    url = f"https://localhost:{p.tls_port}/shared"
    assert curl(["--http1.1", *tls], url)[:3] == ("1.1", 200, b"/shared #1")

    version, status, body, head = curl(["--http2", *tls], url)
    assert (version, status, body) == ("2", 200, b"/shared #1")
    assert re.search(r"^age: \d+", head, re.M | re.I)
    assert re.search(rf'^alt-svc: h3=":{p.tls_port}"; ma=3600', head, re.M | re.I)

    rc, out = h3util.gtlsclient(p.tls_port, "https://localhost/shared",
                                args=["--no-quic-dump"])
    assert statuses(out) == [200], out[-3000:]
    assert bytes(bodies(out)[0]) == b"/shared #1"
    assert "[server: rpxy]" in out and re.search(r"\[age: \d+\]", out)
    assert origin.count("/shared") == 1
    log = p.wait_log(r"GET /shared HTTP/3\.0 -- 200 OK")
    assert re.search(r"GET /shared HTTP/2\.0 -- 200 OK", log)
    assert len(re.findall(r"Cache hit - Return from cache", log)) == 2
    origin.stop()


def test_large_file_hit_over_http2_and_http3_flow_control(tmp_path, start_proxy):
    origin = CacheOrigin()
    body = bytes(range(256)) * 4096  # 1 MiB, file tier
    origin.set("/big", body=body)
    pki = h3util.make_pki(tmp_path)
    cache = (f'[experimental.cache]\ncache_dir = "{tmp_path}/cache"\n'
             "max_cache_each_size = 2000000\nmax_cache_each_size_on_memory = 1000\n")
    p = start_proxy(h3util.h3_config(pki, origin) + cache)
    tls = ["--cacert", pki["ca"], "--resolve", f"localhost:{p.tls_port}:127.0.0.1",
           "-H", "Host: localhost"]
    url = f"https://localhost:{p.tls_port}/big"
    assert curl(["--http2", *tls], url)[2] == body  # stored from HTTP/2
    for _ in range(2):
        version, status, got, _ = curl(["--http2", *tls], url)
        assert (version, status) == ("2", 200) and got == body
    rc, out = h3util.gtlsclient(p.tls_port, "https://localhost/big", args=["--no-quic-dump"])
    assert statuses(out) == [200] and bytes(bodies(out)[0]) == body
    assert origin.count("/big") == 1 and len(list((tmp_path / "cache").iterdir())) == 1
    origin.stop()


def test_length_framed_response_with_trailers_from_an_http2_upstream_is_not_stored(
        tmp_path, start_proxy):
    """A length-framed body enters the cache before its last bytes go to
    the client (so the client's next request finds it); trailers after it
    (an HTTP/2 upstream may send them) take it out again, as a response
    with trailers is not stored."""
    from grpc_backend import H2Backend, h1_request
    from test_h2_upstream import h2_config

    def handler(conn, req):
        n = sum(1 for r in conn.backend.requests if r.path == req.path)
        body = f"{req.path} #{n}".encode()
        head = [(":status", "200"), ("cache-control", "max-age=60"),
                ("content-length", str(len(body)))]
        trailers = [("x-sum", "1")] if req.path == "/with-trailers" else None
        conn.send_response(req.stream_id, head, body, trailers)

    be = H2Backend(handler=handler)
    p = start_proxy(h2_config(be) + f'[experimental.cache]\ncache_dir = "{tmp_path}/cache"\n')

    def get(path):
        r = h1_request(p.port, f"GET {path} HTTP/1.1\r\nHost: a.test\r\n"
                               "Connection: close\r\n\r\n".encode())
        assert r.status == 200 and r.complete, r
        return r.body

    assert get("/plain") == b"/plain #1"
    assert get("/plain") == b"/plain #1"
    assert get("/with-trailers") == b"/with-trailers #1"
    assert get("/with-trailers") == b"/with-trailers #2"
    assert [r.path for r in be.requests] == ["/plain", "/with-trailers", "/with-trailers"]
    be.stop()
