"""HTTP/2 downstream, negotiation (SPEC 3, 8.3): ALPN h2 preferred over TLS,
h2c with prior knowledge on the plaintext port, HTTP/1.1 still served on
both."""
import json
import subprocess

import pytest

import h2frames as hf
import tlsclient
from h2util import curl, make_pki, plain_config, tls_config


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_curl_http2_over_tls_and_http11_fallback(pki, backend, start_proxy):
    p = start_proxy(tls_config(pki, backend))
    url = f"https://a.test:{p.tls_port}/neg?x=1"
    resolve = ["--resolve", f"a.test:{p.tls_port}:127.0.0.1", "--cacert", pki["ca"]]
    version, status, body, head = curl(["--http2", *resolve], url)
    assert (version, status) == ("2", 200), head
    assert head.startswith("HTTP/2 200")
    info = json.loads(body)
    assert info["path"] == "/neg?x=1" and info["method"] == "GET"
    # a client that only speaks HTTP/1.1 on the same port
    version, status, body, head = curl(["--http1.1", *resolve], url)
    assert (version, status) == ("1.1", 200), head
    assert json.loads(body)["path"] == "/neg?x=1"


@pytest.mark.parametrize("offer", ["h2,http/1.1", "http/1.1,h2"])
def test_openssl_s_client_gets_h2(pki, backend, start_proxy, offer):
    p = start_proxy(tls_config(pki, backend))
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{p.tls_port}",
                        "-servername", "a.test", "-alpn", offer],
                       input=b"", capture_output=True, timeout=15)
    out = r.stdout.decode("latin-1")
    assert "ALPN protocol: h2" in out, out[-1500:]


def test_python_ssl_alpn_choices(pki, backend, start_proxy):
    p = start_proxy(tls_config(pki, backend))
    with hf.H2Conn.tls(p.tls_port, "a.test", alpn=("http/1.1", "h2")) as c:
        assert c.sock.selected_alpn_protocol() == "h2"
        st = c.get("/py", authority="a.test", scheme="https")
        assert st.status == 200 and st.json()["path"] == "/py"
    # http/1.1 only: ALPN http/1.1, an HTTP/1.1 answer
    r, _ = tlsclient.get(p.tls_port, "a.test", "/h1", ctx=tlsclient.context(alpn=("http/1.1",)))
    assert r.tls["alpn"] == "http/1.1"
    assert r.raw.startswith(b"HTTP/1.1 200 ")
    assert json.loads(r.body)["path"] == "/h1"


def test_tls_without_alpn_follows_the_preface(pki, backend, start_proxy):
    # SPEC 3: the TLS listener picks h1 or h2 from the bytes after the handshake
    p = start_proxy(tls_config(pki, backend))
    with hf.H2Conn.tls(p.tls_port, "a.test", alpn=None) as c:
        assert c.sock.selected_alpn_protocol() is None
        st = c.get("/noalpn", authority="a.test", scheme="https")
        assert st.status == 200 and st.json()["path"] == "/noalpn"


def test_server_preface_is_settings_and_ours_is_acked(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        first = c.frames[0]
        assert first.type == hf.SETTINGS and not first.flags & hf.ACK and first.stream_id == 0
        c.wait(lambda: c.settings_acks >= 1, 3, what="SETTINGS ACK")
        # PING is answered with the same opaque data
        c.auto_ping = False
        c.send(hf.ping_frame(b"rpxy-h2!"))
        c.wait(lambda: any(f.type == hf.PING and f.flags & hf.ACK for f in c.frames), 3,
               what="PING ACK")
        ack = [f for f in c.frames if f.type == hf.PING and f.flags & hf.ACK][0]
        assert ack.payload == b"rpxy-h2!"
        assert c.get("/after-ping").status == 200


def test_h2c_prior_knowledge_and_http11_on_one_port(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    url = f"http://127.0.0.1:{p.port}/pk?a=b"
    version, status, body, head = curl(["--http2-prior-knowledge", "-H", "Host: app.test"], url)
    assert (version, status) == ("2", 200), head
    info = json.loads(body)
    assert info["path"] == "/pk?a=b"
    version, status, body, head = curl(["--http1.1", "-H", "Host: app.test"], url)
    assert (version, status) == ("1.1", 200), head
    assert json.loads(body)["path"] == "/pk?a=b"
    # and the raw client
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/raw")
        assert st.status == 200 and st.json()["path"] == "/raw"
    assert [r[1] for r in backend.requests] == ["/pk?a=b", "/pk?a=b", "/raw"]


def test_nghttp_client(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    r = subprocess.run(["nghttp", "-nv", "-H", ":authority: app.test",
                        f"http://127.0.0.1:{p.port}/a", f"http://127.0.0.1:{p.port}/b"],
                       capture_output=True, timeout=15)
    out = r.stdout.decode("latin-1")
    assert r.returncode == 0 and out.count(":status: 200") == 2, out[-3000:]
    assert sorted(x[1] for x in backend.requests) == ["/a", "/b"]
