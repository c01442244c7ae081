"""PROXY protocol receive (SPEC 15, issue 12): every TCP connection, plaintext
and TLS, begins with a v1 or v2 header from a trusted peer, whose source
address becomes the client everywhere (X-Forwarded-For/X-Real-IP, the access
log, max_clients_per_ip, the TLS audit lines). Headers are written byte by
byte here (raw sockets), and sent by a real sender: HAProxy in TCP mode with
`send-proxy` and `send-proxy-v2`. Never on QUIC."""
import json
import socket
import ssl
import struct
import subprocess
import time

import pytest

import certs
import h3util
from backends import EchoBackend
from conftest import BUILD, free_port

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
GET = b"GET /pp HTTP/1.1\r\nHost: a.test\r\n\r\n"


def v1(src="203.0.113.7", dst="192.0.2.1", sport=40000, dport=80, proto="TCP4"):
    return f"PROXY {proto} {src} {dst} {sport} {dport}\r\n".encode()


def v2(ver_cmd=0x21, fam=0x11, addr=None):
    if addr is None:
        addr = socket.inet_aton("203.0.113.7") + socket.inet_aton("192.0.2.1") + \
            struct.pack("!HH", 40000, 443)
    return V2_SIG + bytes([ver_cmd, fam]) + struct.pack("!H", len(addr)) + addr


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = certs.make_ca()
    crt, key = certs.make_leaf(ca, ["a.test"]).write(str(d), "a.test")
    return {"ca": certs.write_ca(ca, str(d)), "crt": crt, "key": key}


@pytest.fixture
def backend():
    b = EchoBackend()
    yield b
    b.stop()


def config(pki, backend, trusted='["127.0.0.1/32"]', timeout=1000, extra=""):
    return f"""
listen_port = {{port}}
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.a]
server_name = "a.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
tls = {{ tls_cert_path = "{pki['crt']}", tls_cert_key_path = "{pki['key']}", https_redirection = false }}
[experimental.tcp_recv_proxy_protocol]
trusted_proxies = {trusted}
timeout = {timeout}
"""


def exchange(port, data, source="127.0.0.1", timeout=5, pause=None):
    """Sends data (in one segment, or byte by byte with pause seconds
    between), returns what came back until the proxy closed or went quiet."""
    with socket.socket() as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.bind((source, 0))
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        if pause is None:
            s.sendall(data)
        else:
            for i in range(len(data)):
                s.sendall(data[i:i + 1])
                time.sleep(pause)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if out.count(b"HTTP/1.1 200") >= data.count(b"GET /pp") and b"}" in out[-2:]:
                    break
        except (socket.timeout, ConnectionResetError):
            pass
        return out


def client_of(resp):
    """The X-Forwarded-For and X-Real-IP the backend saw in a response."""
    body = json.loads(resp[resp.index(b"\r\n\r\n") + 4:])
    headers = {k.lower(): v for k, v in body["headers"]}
    return headers.get("x-forwarded-for"), headers.get("x-real-ip")


def test_v1_tcp4_address_is_the_client(pki, backend, start_proxy):
    """The request in the same segment as the header is served; the header's
    source is X-Forwarded-For, X-Real-IP and the access log's client."""
    p = start_proxy(config(pki, backend))
    resp = exchange(p.port, v1() + GET)
    assert resp.startswith(b"HTTP/1.1 200"), resp
    assert client_of(resp) == ("203.0.113.7", "203.0.113.7")
    p.wait_log(r"203\.0\.113\.7.*GET /pp")


def test_v1_tcp6_and_v2_inet6_with_tlvs(pki, backend, start_proxy):
    p = start_proxy(config(pki, backend))
    resp = exchange(p.port, v1("2001:db8::7", "2001:db8::1", 1, 2, "TCP6") + GET)
    assert client_of(resp)[0] == "2001:db8::7", resp
    addr = socket.inet_pton(socket.AF_INET6, "2001:db8::8") + \
        socket.inet_pton(socket.AF_INET6, "2001:db8::1") + struct.pack("!HH", 5, 443)
    tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x00"  # ALPN, NOOP
    resp = exchange(p.port, v2(fam=0x21, addr=addr + tlvs) + GET)
    assert client_of(resp)[0] == "2001:db8::8", resp


@pytest.mark.parametrize("header", [
    pytest.param(v2(ver_cmd=0x20, fam=0x00, addr=b""), id="v2-LOCAL"),
    pytest.param(v2(fam=0x01, addr=b"\x00" * 12), id="v2-UNSPEC"),
    pytest.param(b"PROXY UNKNOWN\r\n", id="v1-UNKNOWN"),
])
def test_headers_without_an_address_keep_the_tcp_peer(pki, backend, start_proxy, header):
    p = start_proxy(config(pki, backend))
    resp = exchange(p.port, header + GET)
    assert resp.startswith(b"HTTP/1.1 200"), resp
    assert client_of(resp) == ("127.0.0.1", "127.0.0.1")


def test_pipelined_requests_after_the_header(pki, backend, start_proxy):
    p = start_proxy(config(pki, backend))
    resp = exchange(p.port, v1() + GET + GET)
    assert resp.count(b"HTTP/1.1 200") == 2, resp


def test_header_sent_byte_by_byte(pki, backend, start_proxy):
    """Within the timeout, a header arriving one byte per segment is read
    whole and the request after it served."""
    p = start_proxy(config(pki, backend, timeout=3000))
    for header in (v1(), v2()):
        resp = exchange(p.port, header + GET, pause=0.005)
        assert resp.startswith(b"HTTP/1.1 200"), resp
        assert client_of(resp)[0] == "203.0.113.7"


def tls_after_header(port, header, sni="a.test", cafile=None):
    """A TLS client whose ClientHello leaves in the same segment as header;
    returns (response bytes, peer certificate subject) or raises."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False if cafile is None else True
    if cafile is None:
        ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=sni)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        first = True

        def pump():
            nonlocal first
            data = out.read()
            if data:
                s.sendall((header if first else b"") + data)
                first = False

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump()
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed during the handshake")
                inc.write(chunk)
        tls.write(GET)
        pump()
        resp = b""
        while b"}" not in resp[-3:]:
            try:
                resp += tls.read(65536)
            except ssl.SSLWantReadError:
                chunk = s.recv(65536)
                if not chunk:
                    break
                inc.write(chunk)
        return resp


def test_tls_client_hello_in_the_same_segment(pki, backend, start_proxy):
    """Exactly the header is consumed: the ClientHello right behind it starts
    the handshake, and the request inside TLS carries the header's client."""
    p = start_proxy(config(pki, backend))
    resp = tls_after_header(p.tls_port, v2(), cafile=pki["ca"])
    assert resp.startswith(b"HTTP/1.1 200"), resp
    assert client_of(resp) == ("203.0.113.7", "203.0.113.7")


def test_tls_audit_line_names_the_real_client(pki, backend, start_proxy):
    p = start_proxy(config(pki, backend))
    with pytest.raises((ConnectionError, ssl.SSLError, OSError)):
        tls_after_header(p.tls_port, v1(sport=41234), sni="unknown.test")
    p.wait_log(r'TLS handshake failed peer=203\.0\.113\.7:41234 sni="unknown\.test" '
               r'failure="unknown_sni"')


def closed_with(p, data, message, source="127.0.0.1", pause=None):
    resp = exchange(p.port, data, source=source, pause=pause)
    assert resp == b"", resp
    p.wait_log(rf"WARN.*Failed to parse PROXY header: {message}\. Closing connection from "
               rf"127\.0\.0\.\d+:\d+")


@pytest.mark.parametrize("data,message", [
    pytest.param(GET, "No valid PROXY protocol signature detected", id="no-header"),
    pytest.param(b"PROXY UNKNOWN " + b"a" * 100 + b"\r\n" + GET,
                 "PROXY v1 header exceeds maximum length", id="v1-too-long"),
    pytest.param(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n" + GET, "Invalid PROXY v1 header",
                 id="v1-bare-lf"),
    pytest.param(v2(fam=0x31, addr=b"\x00" * 216) + GET, "Unsupported PROXY v2 address family",
                 id="v2-unix"),
    pytest.param(v2(fam=0x51) + GET, "Unsupported PROXY v2 address family", id="v2-family-5"),
    pytest.param(v2(ver_cmd=0x2F) + GET, "Invalid PROXY v2 command", id="v2-command-15"),
    pytest.param(V2_SIG + b"\x21\x11\x08\x01", "PROXY v2 address block exceeds maximum length",
                 id="v2-2049"),
    pytest.param(v2(addr=b"\x00" * 8) + GET, "PROXY v2 address block too short for its family",
                 id="v2-short-inet"),
])
def test_bad_headers_are_closed_with_a_line(pki, backend, start_proxy, data, message):
    p = start_proxy(config(pki, backend))
    closed_with(p, data, message)


def test_header_timeout(pki, backend, start_proxy):
    """Half a header, then silence: closed once the timeout has passed."""
    p = start_proxy(config(pki, backend, timeout=300))
    start = time.monotonic()
    closed_with(p, v1()[:20], "PROXY header read timed out after 300ms")
    assert 0.25 <= time.monotonic() - start < 3


def test_timeout_zero_means_five_seconds(pki, backend, start_proxy):
    """`timeout = 0` is rpxy's 5 s fallback: a header still arrives after
    a second."""
    p = start_proxy(config(pki, backend, timeout=0))
    with socket.socket() as s:
        s.settimeout(8)
        s.connect(("127.0.0.1", p.port))
        s.sendall(v1()[:10])
        time.sleep(1.5)
        s.sendall(v1()[10:] + GET)
        got = s.recv(65536)
    assert got.startswith(b"HTTP/1.1 200"), got


def test_untrusted_peer_is_closed_before_reading(pki, backend, start_proxy):
    """Only 127.0.0.2 may send headers: a connection from 127.0.0.1 is closed
    at once, with the peer in rpxy's line; 127.0.0.2 is served."""
    p = start_proxy(config(pki, backend, trusted='["127.0.0.2/32", "::ffff:10.0.0.0/104"]'))
    resp = exchange(p.port, v1() + GET, source="127.0.0.1")
    assert resp == b""
    p.wait_log(r"Failed to parse PROXY header: PROXY header from untrusted source: "
               r"127\.0\.0\.1:\d+\. Closing connection from 127\.0\.0\.1:\d+")
    resp = exchange(p.port, v1() + GET, source="127.0.0.2")
    assert client_of(resp)[0] == "203.0.113.7", resp


def test_per_ip_limit_counts_the_real_client(pki, backend, start_proxy):
    """max_clients_per_ip = 1 applies to the header's address: a second
    connection for 203.0.113.7 is dropped while the first is open, one for
    203.0.113.8 (same TCP peer) is served."""
    p = start_proxy(config(pki, backend, extra="max_clients_per_ip = 1"))
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as first:
        first.sendall(v1() + GET)
        assert first.recv(65536).startswith(b"HTTP/1.1 200")
        assert exchange(p.port, v1(sport=2) + GET) == b""
        resp = exchange(p.port, v1(src="203.0.113.8") + GET)
        assert client_of(resp)[0] == "203.0.113.8", resp
    time.sleep(0.3)
    resp = exchange(p.port, v1(sport=3) + GET)
    assert client_of(resp)[0] == "203.0.113.7", resp


def test_bad_headers_leak_no_slot(pki, backend, start_proxy):
    """max_clients = 2: after 30 refused or timed-out headers, two clients
    can still be served at the same time."""
    p = start_proxy(config(pki, backend, timeout=100, extra="max_clients = 2"))
    for i in range(10):
        exchange(p.port, GET)
        exchange(p.port, v2(fam=0x31, addr=b"\x00" * 216))
        exchange(p.port, v1()[:i + 1], timeout=1)
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as a, \
            socket.create_connection(("127.0.0.1", p.port), timeout=5) as b:
        a.sendall(v1() + GET)
        b.sendall(v1(src="203.0.113.9") + GET)
        assert a.recv(65536).startswith(b"HTTP/1.1 200")
        assert b.recv(65536).startswith(b"HTTP/1.1 200")


def test_quic_needs_no_header(tmp_path, backend, start_proxy):
    """PROXY protocol is TCP only: HTTP/3 on the same port is served."""
    cfg = h3util.h3_config(h3util.make_pki(tmp_path), backend) + \
        '[experimental.tcp_recv_proxy_protocol]\ntrusted_proxies = ["127.0.0.1/32"]\n'
    p = start_proxy(cfg)
    r = subprocess.run([str(BUILD / "h3load"), "--sni", "localhost", "--connect-to",
                        f"127.0.0.1:{p.tls_port}", "-n", "1",
                        f"https://localhost:{p.tls_port}/"], capture_output=True, text=True,
                       timeout=30)
    assert "succeeded 1" in r.stdout, r.stdout + r.stderr


@pytest.fixture
def haproxy(tmp_path):
    procs = []

    def start(to_plain, to_tls):
        front_v1, front_v2 = free_port(), free_port()
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(f"""
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend v1
    bind 127.0.0.1:{front_v1}
    default_backend rpxy_plain
frontend v2
    bind 127.0.0.1:{front_v2}
    default_backend rpxy_tls
backend rpxy_plain
    server s 127.0.0.1:{to_plain} send-proxy
backend rpxy_tls
    server s 127.0.0.1:{to_tls} send-proxy-v2
""")
        proc = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        procs.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", front_v2), timeout=0.2).close()
                socket.create_connection(("127.0.0.1", front_v1), timeout=0.2).close()
                return front_v1, front_v2
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.05)
        raise AssertionError("haproxy did not listen")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def test_haproxy_send_proxy_v1_and_v2(pki, backend, start_proxy, haproxy):
    """HAProxy (TCP mode) as the real sender: curl from 127.0.0.5 through
    send-proxy to the plaintext listener and through send-proxy-v2 to the
    TLS listener; the backend sees 127.0.0.5 (the TCP peer is HAProxy's
    127.0.0.1) and so does the access log."""
    p = start_proxy(config(pki, backend))
    front_v1, front_v2 = haproxy(p.port, p.tls_port)
    for url, extra in ((f"http://a.test:{front_v1}/pp", []),
                       (f"https://a.test:{front_v2}/pp", ["--cacert", pki["ca"]])):
        port = front_v1 if url.startswith("http:") else front_v2
        r = subprocess.run(["curl", "-s", "--interface", "127.0.0.5", "--resolve",
                            f"a.test:{port}:127.0.0.1", *extra, url],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        headers = {k.lower(): v for k, v in json.loads(r.stdout)["headers"]}
        assert headers["x-forwarded-for"] == "127.0.0.5", (url, headers)
        assert headers["x-forwarded-proto"] == url.split(":")[0]
    p.wait_log(r"127\.0\.0\.5.*GET /pp(.|\n)*127\.0\.0\.5.*GET /pp")
