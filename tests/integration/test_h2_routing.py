"""HTTP/2 downstream, the routing rules applied to each stream (SPEC 4.2-4.6,
4.11, 6.9): host checks, SNI consistency, default_app, redirects, 404, body
limits; a refused stream never disturbs the others on its connection."""
import pytest

import h2frames as hf
from h2util import H1Backend, make_pki, tls_config


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def rec():
    b = H1Backend()
    yield b
    b.stop()


def assert_synthetic(st, status):
    assert st.status == status, st
    assert st.ended
    assert bytes(st.body) == b""
    assert st.header("server") is None


def test_authority_and_host_disagree_400(pki, rec, start_proxy):
    p = start_proxy(tls_config(pki, rec))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/mismatch", authority="plain.test", headers=[("host", "other.test")])
        assert_synthetic(st, 400)
        # same host, different port forms: fine
        st = c.get("/match", authority="plain.test:80", headers=[("host", "PLAIN.test")])
        assert st.status == 200
        assert c.get("/after", authority="plain.test").status == 200
    assert rec.paths() == ["/match", "/after"]
    assert rec.requests[0].values("host") == ["PLAIN.test"]
    p.wait_log(r"ERROR Invalid host in request header: ")


def test_no_authority_and_no_host_is_refused(pki, rec, start_proxy):
    """SPEC 4.2 answers 400 when there is no host at all; nghttp2 already
    treats such an HTTP/2 request as malformed and resets the stream
    (PROTOCOL_ERROR), a documented difference (docs/config.md). Either way
    it never reaches an upstream and the connection goes on."""
    p = start_proxy(tls_config(pki, rec))
    with hf.H2Conn.plain(p.port) as c:
        sid = c.new_stream()
        c.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":path", "/nohost")])
        st = c.response(sid)
        assert st.headers is None and st.reset == hf.PROTOCOL_ERROR, st
        assert c.get("/after", authority="plain.test").status == 200
    assert rec.paths() == ["/after"]


def test_unknown_host_plaintext_503_or_default_app(pki, rec, start_proxy):
    p = start_proxy(tls_config(pki, rec))
    with hf.H2Conn.plain(p.port) as c:
        assert_synthetic(c.get("/u", authority="nobody.test"), 503)
    p2 = start_proxy(tls_config(pki, rec, extra_global='default_app = "plain"'))
    with hf.H2Conn.plain(p2.port) as c:
        st = c.get("/fallback", authority="nobody.test")
        assert st.status == 200
        assert st.json()["path"] == "/fallback"
        req = rec.requests[-1]
        assert req.values("host") == ["plain.test"], "default_app forces its server_name"


def test_tls_unknown_host_503_and_sni_mismatch_421(pki, rec, start_proxy):
    p = start_proxy(tls_config(pki, rec))
    with hf.H2Conn.tls(p.tls_port, "a.test") as c:
        assert_synthetic(c.get("/x", authority="b.test", scheme="https"), 421)
        assert_synthetic(c.get("/y", authority="nobody.test", scheme="https"), 421)
        st = c.get("/ok", authority="a.test", scheme="https")
        assert st.status == 200
    assert rec.paths() == ["/ok"]
    p.wait_log(r"ERROR SNI and Host header mismatch: b\.test <- 127\.0\.0\.1:\d+ -- GET /x HTTP/2\.0")


def test_tls_ignore_sni_consistency(pki, rec, start_proxy):
    p = start_proxy(tls_config(pki, rec, tail="[experimental]\nignore_sni_consistency = true",
                               extra_global='default_app = "plain"'))
    with hf.H2Conn.tls(p.tls_port, "a.test") as c:
        st = c.get("/other-app", authority="b.test", scheme="https")
        assert st.status == 200
        assert rec.requests[-1].values("host") == ["b.test"]
        # unknown hosts over TLS: 503, never the default app
        assert_synthetic(c.get("/nobody", authority="nobody.test", scheme="https"), 503)
        assert c.get("/again", authority="a.test", scheme="https").status == 200
    assert rec.paths() == ["/other-app", "/again"]


def test_h2c_https_redirection(pki, rec, start_proxy):
    p = start_proxy(tls_config(pki, rec))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/p?q=1", authority="a.test")
        assert st.status == 301 and st.ended and bytes(st.body) == b""
        assert st.header("location") == f"https://a.test:{p.tls_port}/p?q=1"
        assert st.header("server") is None
        # redirect comes before path routing, and plain.test is not redirected
        st = c.get("/", authority="plain.test")
        assert st.status == 200
    assert rec.paths() == ["/"]


def test_path_without_route_404(pki, rec, start_proxy):
    p = start_proxy(tls_config(pki, rec))
    with hf.H2Conn.plain(p.port) as c:
        assert_synthetic(c.get("/other", authority="routes.test"), 404)
        assert_synthetic(c.get("/apix", authority="routes.test"), 404)
        assert c.get("/api/x?z=1", authority="routes.test").status == 200
        assert c.get("/api", authority="routes.test").status == 200
    assert rec.paths() == ["/api/x?z=1", "/api"]


def test_content_length_over_limit_413_other_streams_continue(pki, rec, start_proxy):
    p = start_proxy(tls_config(pki, rec, extra_global="request_max_body_size = 1024"))
    with hf.H2Conn.plain(p.port) as c:
        slow = c.request("GET", "/slow-one", authority="plain.test")  # answered after 0.5 s
        sid = c.new_stream()
        c.send_headers(sid, c.request_headers("POST", "/too-big", "plain.test",
                                              headers=[("content-length", "5000")]),
                       end_stream=False)
        st = c.response(sid)
        assert_synthetic(st, 413)
        assert st.header("connection") is None
        assert not c.stream(slow).done, "the 413 came after the slow stream's answer"
        assert c.response(slow).status == 200
        # exactly at the limit is allowed
        body = b"k" * 1024
        st = c.response(c.request("POST", "/at-limit", "plain.test", body=body,
                                  headers=[("content-length", "1024")]))
        assert st.status == 200
        assert c.get("/after", authority="plain.test").status == 200
    assert "/too-big" not in rec.paths()
    assert rec.paths() == ["/slow-one", "/at-limit", "/after"]
    assert rec.requests[1].body == body


def test_streamed_body_over_limit_fails_the_stream_only(pki, rec, start_proxy):
    p = start_proxy(tls_config(pki, rec, extra_global="request_max_body_size = 1024"))
    with hf.H2Conn.plain(p.port) as c:
        sid = c.new_stream()
        c.send_headers(sid, c.request_headers("POST", "/stream-big", "plain.test"), end_stream=False)
        c.send(hf.data_frame(sid, b"a" * 600))
        c.send(hf.data_frame(sid, b"b" * 600, end_stream=True))
        st = c.response(sid)
        assert st.status == 502 or (st.headers is None and st.reset is not None), st
        assert not any(r.target == "/stream-big" for r in rec.requests), \
            "the upstream got a complete request with a body over the limit"
        # exactly the limit without content-length passes
        st = c.response(c.request("POST", "/stream-ok", "plain.test", body=b"c" * 1024))
        assert st.status == 200
        assert rec.requests[-1].body == b"c" * 1024
        assert c.get("/after", authority="plain.test").status == 200
    p.wait_log(r"Request body exceeded limit: received \d+ bytes, maximum allowed 1024")
