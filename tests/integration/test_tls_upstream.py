"""TLS toward upstreams (SPEC 8.6): `tls = true` verifies the backend against
the system trust store (SSL_CERT_FILE honoured) with a host name check,
sends the upstream host as SNI (none for IP literals), resumes sessions, and
answers 502 with a clear log line when verification fails."""
import json
import ssl

import pytest

import certs
from backends import EchoBackend, raw_request


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("upstream-pki"))
    ca = certs.make_ca("upstream CA")
    return {
        "dir": d,
        "ca": certs.write_ca(ca, d),
        "localhost": certs.make_leaf(ca, ["localhost"]).write(d, "localhost"),
        "ip": certs.make_leaf(ca, [], ips=["127.0.0.1"], cn="ip").write(d, "ip"),
        "other": certs.make_leaf(ca, ["other.test"]).write(d, "other"),
    }


def tls_backend(pki, which, name="tls-be"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*pki[which])
    return EchoBackend(name, tls_context=ctx)


def proxy_for(start_proxy, location, env, extra=""):
    return start_proxy(f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.a]
server_name = "a.test"
reverse_proxy = [{{ upstream = [{{ location = "{location}", tls = true }}] }}]
""", env=env)


def get(p, path="/"):
    out = raw_request(p.port, f"GET {path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
                      .encode())
    status = int(out[9:12]) if out[:5] == b"HTTP/" else 0
    return status, out.partition(b"\r\n\r\n")[2]


def test_verified_upstream_with_sni(pki, start_proxy):
    be = tls_backend(pki, "localhost")
    p = proxy_for(start_proxy, f"localhost:{be.port}", {"SSL_CERT_FILE": pki["ca"]})
    status, body = get(p, "/hello")
    assert status == 200
    info = json.loads(body)
    assert info["path"] == "/hello"
    headers = {k.lower(): v for k, v in info["headers"]}
    assert headers["host"] == "a.test"
    assert be.snis[-1] == "localhost"
    p.wait_log(r'a\.test <- 127\.0\.0\.1:\d+ -- GET /hello HTTP/1\.1 -- 200 OK -- .*'
               rf'"https://localhost:{be.port}/hello"')
    be.stop()


def test_ip_literal_upstream_sends_no_sni_and_checks_the_ip(pki, start_proxy):
    be = tls_backend(pki, "ip")
    p = proxy_for(start_proxy, f"127.0.0.1:{be.port}", {"SSL_CERT_FILE": pki["ca"]})
    status, _ = get(p)
    assert status == 200
    # (a classical backend answers our X25519MLKEM768 key share with a
    # HelloRetryRequest: two ClientHellos, neither with SNI)
    assert be.snis and set(be.snis) == {None}
    be.stop()


def test_verification_failures_are_502(pki, start_proxy):
    # a certificate for another name
    be = tls_backend(pki, "other")
    p = proxy_for(start_proxy, f"localhost:{be.port}", {"SSL_CERT_FILE": pki["ca"]})
    status, body = get(p)
    assert (status, body) == (502, b"")
    p.wait_log(r"ERROR Failed to get response from backend: TLS handshake with localhost failed: "
               r"hostname mismatch: a\.test <- 127\.0\.0\.1:\d+ -- GET / ")
    be.stop()
    # a CA the trust store does not hold (SSL_CERT_FILE names an empty bundle)
    be = tls_backend(pki, "localhost")
    empty = pki["dir"] + "/empty.pem"
    open(empty, "w").close()
    p = proxy_for(start_proxy, f"localhost:{be.port}",
                  {"SSL_CERT_FILE": empty, "SSL_CERT_DIR": pki["dir"] + "/none"})
    status, _ = get(p)
    assert status == 502
    p.wait_log(r"TLS handshake with localhost failed: unable to get local issuer certificate")
    be.stop()
    # a plaintext backend behind tls = true
    plain = EchoBackend("plain")
    p = proxy_for(start_proxy, f"localhost:{plain.port}", {"SSL_CERT_FILE": pki["ca"]})
    status, _ = get(p)
    assert status == 502
    p.wait_log(r"TLS handshake with localhost failed")
    plain.stop()


def test_keep_alive_and_session_resumption(pki, start_proxy):
    be = tls_backend(pki, "localhost")
    p = proxy_for(start_proxy, f"localhost:{be.port}", {"SSL_CERT_FILE": pki["ca"]},
                  extra="worker_threads = 1")
    # keep-alive: several requests, one upstream handshake
    for _ in range(3):
        assert get(p)[0] == 200
    assert len(be.server.tls_seen) == 3 and be.server.tls_seen[0] is False
    hellos = len(be.snis)  # 2 per handshake with a classical backend (HelloRetryRequest)
    assert hellos in (1, 2)
    # the backend closes after each answer: new connections resume the session
    for _ in range(3):
        assert get(p, "/close")[0] == 200
    assert be.server.tls_seen[-3:] == [False, True, True] or be.server.tls_seen[-2:] == [True, True]
    assert be.server.tls_seen[-1] is True and be.server.tls_seen[-2] is True
    be.stop()


def test_large_bodies_both_ways(pki, start_proxy):
    be = tls_backend(pki, "localhost")
    p = proxy_for(start_proxy, f"localhost:{be.port}", {"SSL_CERT_FILE": pki["ca"]})
    status, body = get(p, "/big?n=5000000")
    assert status == 200 and len(body) == 5000000
    payload = b"z" * 3000000
    out = raw_request(p.port, b"POST /up HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(payload) + payload)
    assert out.startswith(b"HTTP/1.1 200")
    assert json.loads(out.partition(b"\r\n\r\n")[2])["body"] == payload.decode()
    be.stop()


def chained(start_proxy, pki, options):
    """A (plaintext, HTTP/1.1 clients) -> B (our TLS listener, which offers
    h2 by ALPN) -> an HTTP/1.1 echo backend."""
    be = EchoBackend("behind-b")
    crt, key = pki["localhost"]
    b = start_proxy(f"""
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
[apps.b]
server_name = "localhost"
tls = {{ tls_cert_path = "{crt}", tls_cert_key_path = "{key}" }}
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{be.port}" }}] }}]
""")
    a = start_proxy(f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.a]
server_name = "a.test"
[[apps.a.reverse_proxy]]
upstream = [{{ location = "localhost:{b.tls_port}", tls = true }}]
upstream_options = {options}
""", env={"SSL_CERT_FILE": pki["ca"]})
    return a, b, be


def original_uri(body):
    """B's X-Original-URI as the backend saw it: absolute for a request B got
    over HTTP/2, origin-form for HTTP/1.1 (SPEC 5.1)."""
    return {k.lower(): v for k, v in json.loads(body)["headers"]}["x-original-uri"]


def test_tls_upstream_choosing_h2_gets_http2(pki, start_proxy):
    """An HTTP/1.1 client's request to a TLS upstream offers h2 and
    http/1.1; the upstream chose h2, so the request travels as HTTP/2, and
    the next ones too."""
    a, b, be = chained(start_proxy, pki, '["set_upstream_host"]')
    for i in range(3):
        status, body = get(a, f"/via-h2-{i}")
        assert status == 200, body
        assert json.loads(body)["path"] == f"/via-h2-{i}"
        assert original_uri(body) == f"https://localhost:{b.tls_port}/via-h2-{i}"
    be.stop()


def test_force_http11_upstream_keeps_http11(pki, start_proxy):
    a, b, be = chained(start_proxy, pki, '["set_upstream_host", "force_http11_upstream"]')
    for i in range(2):
        status, body = get(a, f"/via-h1-{i}")
        assert status == 200, body
        assert original_uri(body) == f"/via-h1-{i}"
    be.stop()
