"""The early checks run in SPEC 4's order (issue 12): 4.2 host, 4.3 SNI/Host
consistency, 4.4 Content-Length pre-flight, 4.5 app / default_app /
redirect, 4.6 path, 4.8 upgrade. Each pair of adjacent steps is played
against each other with a request that fails both: the earlier step's
status wins."""
import pytest

import certs
import tlsclient
from backends import EchoBackend, raw_request


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = certs.make_ca()
    out = {"ca": certs.write_ca(ca, str(d))}
    for name in ("a.test", "b.test"):
        out[name] = certs.make_leaf(ca, [name]).write(str(d), name)
    return out


@pytest.fixture
def proxy(pki, start_proxy):
    be = EchoBackend()
    a_crt, a_key = pki["a.test"]
    b_crt, b_key = pki["b.test"]
    p = start_proxy(f"""
listen_port = {{port}}
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
request_max_body_size = 100
[apps.a]
server_name = "a.test"
reverse_proxy = [{{ path = "/routed", upstream = [{{ location = "127.0.0.1:{be.port}" }}] }}]
tls = {{ tls_cert_path = "{a_crt}", tls_cert_key_path = "{a_key}", https_redirection = false }}
[apps.b]
server_name = "b.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{be.port}" }}] }}]
tls = {{ tls_cert_path = "{b_crt}", tls_cert_key_path = "{b_key}" }}
""")
    yield p
    be.stop()


BIG = b"Content-Length: 101\r\n"


def status(out):
    return int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/1.1 ") else out


def plain(p, head):
    return status(raw_request(p.port, head + b"\r\n", read_all=False))


def tls(p, sni, head):
    s = tlsclient.connect(p.tls_port, sni, tlsclient.context())
    try:
        s.sendall(head + b"\r\n")
        return status(s.recv(65536))
    finally:
        s.close()


def test_host_before_content_length(proxy):
    """4.2 before 4.4: a URI host naming another host than Host is 400 even
    with a body over the limit."""
    assert plain(proxy, b"POST http://a.test/routed HTTP/1.1\r\nHost: b.test\r\n" + BIG) == 400
    assert plain(proxy, b"POST / HTTP/1.1\r\n" + BIG) == 400  # no host at all


def test_host_before_sni(proxy):
    """4.2 before 4.3: on TLS with the SNI of a.test, conflicting hosts are
    400, not 421."""
    assert tls(proxy, "a.test", b"GET http://b.test/ HTTP/1.1\r\nHost: c.test\r\n") == 400


def test_sni_before_content_length(proxy):
    """4.3 before 4.4: SNI a.test, Host b.test, body over the limit: 421."""
    assert tls(proxy, "a.test", b"POST /routed HTTP/1.1\r\nHost: b.test\r\n" + BIG) == 421


def test_content_length_before_app(proxy):
    """4.4 before 4.5: an unknown host, and an app that redirects to HTTPS,
    both get 413 for a body over the limit (503 and 301 without it)."""
    assert plain(proxy, b"POST / HTTP/1.1\r\nHost: nowhere.test\r\n" + BIG) == 413
    assert plain(proxy, b"POST / HTTP/1.1\r\nHost: nowhere.test\r\nContent-Length: 1\r\n") == 503
    assert plain(proxy, b"POST / HTTP/1.1\r\nHost: b.test\r\n" + BIG) == 413
    assert plain(proxy, b"POST / HTTP/1.1\r\nHost: b.test\r\nContent-Length: 1\r\n") == 301
    assert tls(proxy, "a.test", b"POST /nowhere HTTP/1.1\r\nHost: a.test\r\n" + BIG) == 413


def test_app_before_path(proxy):
    """4.5 before 4.6: redirecting is decided before routing (a path with no
    route still gets 301), and an unknown host is 503 whatever the path."""
    assert plain(proxy, b"GET /no-route HTTP/1.1\r\nHost: b.test\r\n") == 301
    assert plain(proxy, b"GET /no-route HTTP/1.1\r\nHost: nowhere.test\r\n") == 503


def test_path_before_upgrade(proxy):
    """4.6 before 4.8: an HTTP/1.0 upgrade to a path without a route is 404;
    to a routed path, 500."""
    up = b"Connection: upgrade\r\nUpgrade: websocket\r\n"
    assert plain(proxy, b"GET /no-route HTTP/1.0\r\nHost: a.test\r\n" + up) == 404
    assert plain(proxy, b"GET /routed HTTP/1.0\r\nHost: a.test\r\n" + up) == 500
