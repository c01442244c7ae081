"""HTTP/2 downstream, the upstream request's headers (SPEC 4.2, 4.9, 5, 6)
and the access log line (SPEC 13) for h2 requests."""
import re
import time

import pytest

import h2frames as hf
from h2frames import headers_dict
from h2util import make_pki, plain_config, tls_config

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_h2c_forwarding_headers(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/h?q=1", authority=f"app.test:{p.port}",
                   headers=[("user-agent", "h2-test/1.0"), ("accept", "*/*")])
    assert st.status == 200
    h = headers_dict(st.json())
    assert h["host"] == ["app.test"], "Host from :authority, without the port"
    assert h["x-forwarded-proto"] == ["http"]
    assert h["x-forwarded-port"] == [str(p.port)]
    assert h["x-forwarded-ssl"] == ["off"]
    assert h["x-forwarded-for"] == ["127.0.0.1"]
    assert h["x-real-ip"] == ["127.0.0.1"]
    assert h["x-forwarded-host"] == [f"app.test:{p.port}"]
    assert h["x-original-uri"] == [f"http://app.test:{p.port}/h?q=1"]
    assert h["proxy"] == [""]
    assert h["user-agent"] == ["h2-test/1.0"]
    assert h["accept"] == ["*/*"]
    for name in h:
        assert not name.startswith(":"), f"pseudo-header {name} sent upstream"
    assert "te" not in h


def test_tls_forwarding_headers(pki, backend, start_proxy):
    p = start_proxy(tls_config(pki, backend))
    with hf.H2Conn.tls(p.tls_port, "a.test") as c:
        st = c.get("/t?x=y", authority=f"a.test:{p.tls_port}", scheme="https")
        assert st.status == 200
        h = headers_dict(st.json())
        assert h["host"] == ["a.test"]
        assert h["x-forwarded-proto"] == ["https"]
        assert h["x-forwarded-ssl"] == ["on"]
        assert h["x-forwarded-port"] == [str(p.tls_port)]
        assert h["x-original-uri"] == [f"https://a.test:{p.tls_port}/t?x=y"]
        assert h["x-forwarded-host"] == [f"a.test:{p.tls_port}"]
        # :authority without a port
        st = c.get("/t2", authority="a.test", scheme="https")
        h = headers_dict(st.json())
        assert h["host"] == ["a.test"]
        assert h["x-original-uri"] == ["https://a.test/t2"]
        assert h["x-forwarded-host"] == ["a.test"]


def test_client_forwarding_headers_are_replaced(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/r", headers=[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-proto", "https"),
                                  ("x-real-ip", "6.6.6.6"), ("x-original-uri", "/evil"),
                                  ("x-forwarded-host", "evil.test"), ("proxy", "http://evil:3128"),
                                  ("proxy-authorization", "Basic eA==")])
    h = headers_dict(st.json())
    assert h["x-forwarded-for"] == ["127.0.0.1"]
    assert h["x-real-ip"] == ["127.0.0.1"]
    assert h["x-forwarded-proto"] == ["http"]
    assert h["x-original-uri"] == ["http://app.test/r"]
    assert h["x-forwarded-host"] == ["app.test"]
    assert h["proxy"] == [""]
    assert "proxy-authorization" not in h


def test_host_header_sent_with_authority_is_kept_once(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/hh", authority="app.test", headers=[("host", "app.test:8080")])
        assert st.status == 200
        h = headers_dict(st.json())
        assert h["host"] == ["app.test:8080"]
        # only a host field, no :authority
        sid = c.new_stream()
        c.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":path", "/only-host"),
                             ("host", "app.test")])
        st = c.response(sid)
        assert st.status == 200
        h = headers_dict(st.json())
        assert h["host"] == ["app.test"]


def test_cookie_fields_are_joined(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/cookies", headers=[("cookie", "a=1"), ("x-between", "1"), ("cookie", "b=2"),
                                        ("cookie", "c=3; d=4")])
    h = headers_dict(st.json())
    assert h["cookie"] == ["a=1; b=2; c=3; d=4"]
    assert h["x-between"] == ["1"]


def test_te_trailers_is_kept(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/te", headers=[("te", "trailers")])
        assert st.status == 200
        assert headers_dict(st.json())["te"] == ["trailers"]
        st = c.get("/no-te")
        assert "te" not in headers_dict(st.json())


def test_access_log_says_http2(pki, backend, start_proxy, tmp_path):
    logs = tmp_path / "logs"
    p = start_proxy(tls_config(pki, backend), log_dir=logs)
    with hf.H2Conn.plain(p.port) as c:
        assert c.get("/x?y=1", authority="plain.test",
                     headers=[("user-agent", "h2-test/1.0")]).status == 200
        assert c.get("/nothing", authority="routes.test").status == 404
    with hf.H2Conn.tls(p.tls_port, "a.test") as c:
        assert c.get("/t", authority=f"a.test:{p.tls_port}", scheme="https").status == 200
    access = logs / "access.log"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not access.exists() or access.read_text().count("\n") < 3):
        time.sleep(0.05)
    lines = access.read_text().splitlines()
    assert len(lines) == 3, lines
    port = backend.port
    assert re.fullmatch(
        TS + r" plain\.test <- 127\.0\.0\.1:\d+ -- GET /x\?y=1 HTTP/2\.0 -- 200 OK -- "
        r"http://plain\.test/x \"h2-test/1\.0\", \"127\.0\.0\.1\" "
        rf"\"http://127\.0\.0\.1:{port}/x\?y=1\"", lines[0]), lines[0]
    assert re.fullmatch(
        TS + r" routes\.test <- 127\.0\.0\.1:\d+ -- GET /nothing HTTP/2\.0 -- 404 Not Found -- "
        r"http://routes\.test/nothing \"\", \"\" \"\"", lines[1]), lines[1]
    assert re.fullmatch(
        TS + rf" a\.test:{p.tls_port} <- 127\.0\.0\.1:\d+ -- GET /t HTTP/2\.0 -- 200 OK -- "
        rf"https://a\.test:{p.tls_port}/t \"\", \"127\.0\.0\.1\" \"http://127\.0\.0\.1:{port}/t\"",
        lines[2]), lines[2]
