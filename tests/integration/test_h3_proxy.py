"""HTTP/3 requests through the proxy (SPEC 9.4): the same pipeline as TCP
(routing, forwarding headers, Alt-Svc, the access log with HTTP/3.0),
bodies both ways under flow control, many streams on one connection, the
SNI/Host rule, and the per-stream limits. Client: Debian's gtlsclient."""
import hashlib
import json
import os
import re

import h3util
from backends import EchoBackend


def bodies(out):
    """The response bodies gtlsclient dumped, by stream id."""
    got = {}
    for m in re.finditer(r"http: stream 0x([0-9a-f]+) body (\d+) bytes\n((?:[0-9a-f]{8}  .*\n)+)",
                         out):
        data = bytearray()
        for line in m.group(3).splitlines():
            hexpart = line[10:58].replace(" ", "")
            data += bytes.fromhex(hexpart)
        got.setdefault(int(m.group(1), 16), bytearray()).extend(data)
    return got


def statuses(out):
    return [int(s) for s in re.findall(r"http: stream 0x[0-9a-f]+ \[:status: (\d+)\]", out)]


def test_get_through_http3(tmp_path, start_proxy):
    be = EchoBackend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    url = f"https://localhost:{p.tls_port}/hello?x=1"
    rc, out = h3util.gtlsclient(p.tls_port, url, args=["--no-quic-dump"])
    assert statuses(out) == [200], out[-3000:]
    assert "[server: rpxy]" in out
    assert f'[alt-svc: h3=":{p.tls_port}"; ma=3600]' in out
    info = json.loads(bytes(bodies(out)[0]))
    assert info["path"] == "/hello?x=1"
    h = {k.lower(): v for k, v in info["headers"]}
    assert h["host"] == "localhost"  # as for HTTP/2: the authority's host (SPEC 4.9)
    assert h["x-forwarded-proto"] == "https"
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-port"] == str(p.tls_port)
    p.wait_log(r"localhost:\d+ <- 127\.0\.0\.1:\d+ -- GET /hello\?x=1 HTTP/3\.0 -- 200 OK")
    be.stop()


def test_upload_and_download_with_flow_control(tmp_path, start_proxy):
    be = EchoBackend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    data = os.urandom(600_000)
    src = tmp_path / "upload"
    src.write_bytes(data)
    rc, out = h3util.gtlsclient(p.tls_port, f"https://localhost:{p.tls_port}/up",
                                args=["--no-quic-dump", "--no-http-dump", f"--data={src}"])
    method, path, headers, body = be.requests[-1]
    assert path == "/up", (method, path)  # gtlsclient sends its --data with GET
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest(), len(body)
    # a 3 MB download, saved by the client
    dl = tmp_path / "dl"
    dl.mkdir()
    rc, out = h3util.gtlsclient(p.tls_port, f"https://localhost:{p.tls_port}/big?n=3000000",
                                args=["--no-quic-dump", "--no-http-dump", f"--download={dl}"])
    files = list(dl.iterdir())
    assert len(files) == 1 and files[0].stat().st_size == 3_000_000, (files, out[-2000:])
    assert files[0].read_bytes() == b"x" * 3_000_000
    be.stop()


def test_many_streams_on_one_connection(tmp_path, start_proxy):
    be = EchoBackend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    uris = [f"https://localhost:{p.tls_port}/s{i}" for i in range(30)]
    rc, out = h3util.gtlsclient(p.tls_port, *uris, args=["--no-quic-dump", "-n", "30"])
    assert statuses(out) == [200] * 30, out[-3000:]
    got = bodies(out)
    paths = sorted(json.loads(bytes(b))["path"] for b in got.values())
    assert paths == sorted(f"/s{i}" for i in range(30))
    assert out.count("QUIC handshake has completed") == 1
    be.stop()


def test_sni_and_authority_must_agree(tmp_path, start_proxy):
    """SPEC 4.3 per stream: SNI localhost, :authority another app's name."""
    be = EchoBackend()
    pki = h3util.make_pki(tmp_path)
    p = start_proxy(h3util.h3_config(pki, be, app_extra=""))
    rc, out = h3util.gtlsclient(p.tls_port, f"https://other.test:{p.tls_port}/",
                                args=["--no-quic-dump"])
    assert statuses(out) and statuses(out)[0] in (421, 503), out[-2000:]
    assert "alt-svc" not in out.split("QUIC handshake has completed")[-1]
    assert not be.requests
    be.stop()


def h3_to_h2_config(pki, be, tls):
    """localhost on HTTP/3 in front of an HTTP/2 backend (python3-h2)."""
    crt, key = pki["localhost"]
    loc = f"localhost:{be.port}" if tls else f"127.0.0.1:{be.port}"
    options = "" if tls else 'upstream_options = ["force_http2_upstream"]'
    return f"""
listen_port = {{port}}
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
[apps.local]
server_name = "localhost"
tls = {{ tls_cert_path = "{crt}", tls_cert_key_path = "{key}" }}
[[apps.local.reverse_proxy]]
upstream = [{{ location = "{loc}", tls = {str(tls).lower()} }}]
{options}
[experimental.h3]
"""


def test_http3_to_a_tls_upstream_goes_over_h2_with_trailers(tmp_path, start_proxy):
    """SPEC 9.4: towards an https upstream, h3 becomes h2 (ALPN); the
    upstream's trailers reach the HTTP/3 client."""
    import certs
    from grpc_backend import H2Backend, h2_tls_context
    up_dir = tmp_path / "upstream"
    up_dir.mkdir()
    ca = certs.make_ca("upstream CA")
    ca_path = certs.write_ca(ca, str(up_dir))
    crt, key = certs.make_leaf(ca, ["localhost"]).write(str(up_dir), "localhost")
    be = H2Backend(tls_context=h2_tls_context(crt, key, alpn=("h2", "http/1.1")))
    p = start_proxy(h3_to_h2_config(h3util.make_pki(tmp_path), be, tls=True),
                    env={"SSL_CERT_FILE": ca_path})
    rc, out = h3util.gtlsclient(p.tls_port, f"https://localhost:{p.tls_port}/over-h2",
                                args=["--no-quic-dump"])
    assert statuses(out) == [200], out[-1500:]
    info = json.loads(bytes(bodies(out)[0]))
    assert info["alpn"] == "h2", info
    assert dict(map(tuple, info["headers"]))[":path"] == "/over-h2"
    rc, out = h3util.gtlsclient(p.tls_port, f"https://localhost:{p.tls_port}/trailers",
                                args=["--no-quic-dump"])
    assert statuses(out) == [200], out[-3000:]
    assert bytes(bodies(out)[0]) == b"hello world"
    assert "[x-trailer-a: 1]" in out and "[x-trailer-b: two]" in out, out[-3000:]
    be.stop()
