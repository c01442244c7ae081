"""Real clients and the post-quantum key exchange: Debian's
Chromium (which offers X25519MLKEM768 by default since version 131) loads a
page through the TLS listener and gets the hybrid group; classical-only
clients (our pq-client restricted to X25519, Debian's openssl s_client
without our provider) still get X25519 or P-256."""
import html
import json
import re
import subprocess
import time
import uuid

import pytest

import tls_app
from browser import chromium_dump_dom, nss_home
from conftest import BUILD

HANDSHAKE = r'DEBUG TLS handshake done peer=127\.0\.0\.1:\d+ sni="a\.test" version=(\S+) ' \
            r'cipher=\S+ group=(\S+) alpn=(\S+) resumed=\S+ mtls=\S+$'


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return tls_app.make_pki(tmp_path_factory.mktemp("pki"))


def handshakes(p, n, timeout=10):
    """The proxy's "TLS handshake done" lines for a.test (version, group,
    alpn), once there are at least N."""
    deadline = time.monotonic() + timeout
    while True:
        found = re.findall(HANDSHAKE, p.log(), re.M)
        if len(found) >= n:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {n} handshakes logged:\n{p.log()}"
        time.sleep(0.05)


def page_json(dom):
    """The echo backend's JSON, as Chromium shows it (in a <pre>)."""
    m = re.search(r"<pre[^>]*>(.*?)</pre>", dom, re.S)
    assert m, f"no <pre> in the page:\n{dom[:2000]}"
    return json.loads(html.unescape(m.group(1)))


@pytest.mark.slow(seconds=3)
def test_chromium_gets_page_over_x25519mlkem768(pki, backend, start_proxy, tmp_path):
    p = start_proxy(tls_app.config(pki, backend), env={"RUST_LOG": "debug"})
    token = uuid.uuid4().hex
    url = f"https://a.test:{p.tls_port}/browser?token={token}"

    # Without the test CA in its trust store, Chromium refuses the page (so
    # the run below really verified the certificate chain and the name).
    (tmp_path / "empty-home").mkdir()
    dom, err = chromium_dump_dom(url, tmp_path, tmp_path / "empty-home")
    assert token not in dom, dom
    assert not any(token in r[1] for r in backend.requests)
    p.wait_log(r'TLS handshake failed peer=127\.0\.0\.1:\d+ sni="a\.test" failure="handshake" '
               r'mtls=false reason=.*certificate unknown')

    home = nss_home(tmp_path, pki["ca"])
    dom, err = chromium_dump_dom(url, tmp_path, home)
    # (a) the page came from the backend, through the proxy, over TLS
    assert dom, f"no page from chromium:\n{err[-3000:]}\nproxy log:\n{p.log()[-3000:]}"
    info = page_json(dom)
    assert info["backend"] == "b0"
    assert info["path"] == f"/browser?token={token}"
    headers = {k.lower(): v for k, v in info["headers"]}
    assert "HeadlessChrome/" in headers["user-agent"]
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-port"] == str(p.tls_port)
    # Chromium speaks HTTP/2: no Host field, so the upstream gets the
    # :authority host without its port (SPEC 4.9 step 7), the port stays
    # in X-Forwarded-Host
    assert headers["host"] == "a.test"
    assert headers["x-forwarded-host"] == f"a.test:{p.tls_port}"
    p.wait_log(rf"a\.test:{p.tls_port} <- 127\.0\.0\.1:\d+ -- "
               rf"GET /browser\?token={token} HTTP/2\.0 -- 200 OK")
    # (b) the browser's handshakes used the hybrid post-quantum group, and h2
    done = handshakes(p, 1)
    for version, group, alpn in done:
        assert (version, group) == ("TLSv1.3", "X25519MLKEM768"), p.log()
        assert alpn == "h2", alpn


def test_classical_clients_get_classical_groups(pki, backend, start_proxy):
    p = start_proxy(tls_app.config(pki, backend), env={"RUST_LOG": "debug"})
    pq_client = str(BUILD / "pq-client")

    def pq(*extra):
        r = subprocess.run([pq_client, "127.0.0.1", str(p.tls_port), "--sni", "a.test",
                            "--cafile", pki["ca"], *extra, "--get", "/pq"],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    def s_client(groups):
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{p.tls_port}",
                            "-servername", "a.test", "-groups", groups, "-CAfile", pki["ca"],
                            "-verify_return_error", "-verify_hostname", "a.test", "-ign_eof"],
                           input="GET /s_client HTTP/1.1\r\nHost: a.test\r\n"
                                 "Connection: close\r\n\r\n",
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Verify return code: 0 (ok)" in r.stdout
        assert "HTTP/1.1 200 OK" in r.stdout
        return r.stdout

    # our client with the provider: the hybrid group by default, X25519 when told
    out = pq()
    assert out.startswith("version=TLSv1.3 group=X25519MLKEM768 "), out
    assert "HTTP/1.1 200 OK" in out
    out = pq("--groups", "X25519")
    assert out.startswith("version=TLSv1.3 group=X25519 "), out
    assert "HTTP/1.1 200 OK" in out
    # Debian's OpenSSL 3.0 s_client (no ML-KEM): X25519, or P-256 when that is all it offers
    assert "Server Temp Key: X25519, 253 bits" in s_client("X25519:P-256")
    assert "Server Temp Key: ECDH, prime256v1, 256 bits" in s_client("P-256")
    # and the proxy logged the same groups, in that order
    groups = [g for _, g, _ in handshakes(p, 4)]
    assert groups == ["X25519MLKEM768", "X25519", "X25519", "secp256r1"], p.log()
