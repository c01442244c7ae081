"""Alt-Svc for HTTP/3 (SPEC 9.8): with [experimental.h3], proxied responses
on the TLS listener (HTTP/1.1 and HTTP/2) carry exactly
`h3=":<public_https_port>"; ma=<alt_svc_max_age>`, replacing the
upstream's; plaintext and synthetic responses carry none."""
import socket

import h2frames as hf
import tls_app
import tlsclient
from backends import RawBackend


def h3_config(pki, backend, h3="", extra=""):
    return tls_app.config(pki, backend).replace(
        'listen_address_v4 = "127.0.0.1"', f'listen_address_v4 = "127.0.0.1"\n{extra}').replace(
        "tls = { ", "tls = { https_redirection = false, ") + f"\n[experimental.h3]\n{h3}\n"


def upstream_with_alt_svc(conn):
    while b"\r\n\r\n" not in conn.recv(65536):
        pass
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nAlt-Svc: h2=\":1\"\r\n\r\nok")


def test_alt_svc_on_tls_responses_only(tmp_path, start_proxy):
    be = RawBackend(upstream_with_alt_svc)
    pki = tls_app.make_pki(tmp_path)
    p = start_proxy(h3_config(pki, be))
    r, _ = tlsclient.get(p.tls_port, "a.test")
    assert r.status == 200, r.raw
    assert r.headers.get("alt-svc") == f'h3=":{p.tls_port}"; ma=3600', r.raw
    assert r.raw.lower().count(b"alt-svc") == 1
    # HTTP/2 over TLS too
    with hf.H2Conn.tls(p.tls_port, "a.test") as c:
        st = c.get("/", authority="a.test", scheme="https")
        assert st.status == 200 and st.all("alt-svc") == [f'h3=":{p.tls_port}"; ma=3600'], st
    # plaintext: none, and the upstream's is removed
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    assert raw.startswith(b"HTTP/1.1 200") and b"alt-svc" not in raw.lower(), raw
    # a synthetic response (no route for this host) carries none
    r2, _ = tlsclient.get(p.tls_port, "a.test", host="other.test")
    assert r2.status in (421, 404, 503) and "alt-svc" not in r2.headers, r2.raw
    be.stop()


def test_alt_svc_port_and_max_age_follow_the_config(tmp_path, start_proxy):
    be = RawBackend(upstream_with_alt_svc)
    pki = tls_app.make_pki(tmp_path)
    p = start_proxy(h3_config(pki, be, h3="alt_svc_max_age = 60", extra="public_https_port = 443"))
    r, _ = tlsclient.get(p.tls_port, "a.test")
    assert r.headers.get("alt-svc") == 'h3=":443"; ma=60', r.raw
    be.stop()
