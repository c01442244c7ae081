"""A real browser over HTTP/3: Debian's headless Chromium, forced onto QUIC
for the test app's origin, loads a page through the proxy's QUIC listener.
The proof comes from three sides: the page itself (the Navigation Timing
entry's nextHopProtocol), Chromium's net log (the QUIC session, its HTTP/3
frames, and the TLS ServerHello and EncryptedExtensions it received in
CRYPTO frames: the key exchange group and the ALPN), and the proxy and
backend (an HTTP/3.0 access log line, the forwarded request, no TCP
handshake at all).

QUIC in Chromium ignores --ignore-certificate-errors and the NSS database
is not needed: the leaf's SPKI is pinned with
--ignore-certificate-errors-spki-list, and a first run without the pin
shows that Chromium does verify the certificate over QUIC."""
import base64
import hashlib
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import tls_app
from backends import bind_retrying
from browser import chromium_dump_dom

X25519MLKEM768 = 0x11EC
# X25519MLKEM768's server share: the ML-KEM-768 ciphertext (1088 bytes),
# then the X25519 public key (32)
X25519MLKEM768_SERVER_SHARE = 1088 + 32
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
TLS13 = 0x0304
SERVER_HELLO, ENCRYPTED_EXTENSIONS = 2, 8
EXT_ALPN, EXT_SUPPORTED_VERSIONS, EXT_KEY_SHARE = 16, 43, 51
CRYPTO_ERROR, CERTIFICATE_UNKNOWN = 0x100, 46  # QUIC's error code for a TLS alert

# performance's view of how the document came: "h3", "h2", "http/1.1"
PAGE = b"""<!doctype html><title>h3</title><p id="proto">none</p>
<script>document.getElementById("proto").textContent =
  performance.getEntriesByType("navigation")[0].nextHopProtocol;</script>
"""


class PageBackend:
    """An HTTP/1.1 backend that answers every request with PAGE and records
    (path, headers)."""

    def __init__(self):
        requests = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

        self.port, self.server = bind_retrying(
            lambda port: ThreadingHTTPServer(("127.0.0.1", port), Handler))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def page_backend():
    b = PageBackend()
    yield b
    b.stop()


def spki_pin(crt_path):
    """base64(SHA-256(SubjectPublicKeyInfo)) of the certificate's key, as
    --ignore-certificate-errors-spki-list wants it."""
    with open(crt_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def chromium_over_quic(url, tmp_path, port, pin=None):
    """Chromium on URL, forced onto QUIC for a.test:PORT, no other name
    resolving (Chromium's own background requests go nowhere); returns
    (DOM, stderr, the net log's path)."""
    netlog = tmp_path / f"netlog-{uuid.uuid4().hex[:8]}.json"
    args = ["--enable-quic", f"--origin-to-force-quic-on=a.test:{port}",
            # Everything: the CRYPTO frames' bytes are logged
            f"--log-net-log={netlog}", "--net-log-capture-mode=Everything"]
    if pin:
        args.append(f"--ignore-certificate-errors-spki-list={pin}")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    dom, err = chromium_dump_dom(url, tmp_path, home, extra_args=args,
                                 host_rules="MAP a.test 127.0.0.1, MAP * ~NOTFOUND")
    return dom, err, netlog


def quic_sessions(netlog, port):
    """The net log's QUIC sessions to a.test:PORT: {source id: [(event
    name, params), ...]} in log order."""
    with open(netlog) as f:
        log = json.load(f)
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    sessions = {}
    for e in log["events"]:
        name, params = names[e["type"]], e.get("params") or {}
        sid = e["source"]["id"]
        if name == "QUIC_SESSION" and (params.get("host"), params.get("port")) == ("a.test", port):
            sessions.setdefault(sid, [])
        if sid in sessions:
            sessions[sid].append((name, params))
    return sessions


def crypto_stream(events, level):
    """The bytes of the CRYPTO frames received at encryption LEVEL,
    reassembled by offset (retransmitted frames overlap)."""
    data = bytearray()
    for name, p in events:
        if name == "QUIC_SESSION_CRYPTO_FRAME_RECEIVED" and p["encryption_level"] == level:
            chunk = base64.b64decode(p["bytes"])
            assert len(chunk) == p["data_length"], p
            end = p["offset"] + len(chunk)
            if len(data) < end:
                data.extend(bytes(end - len(data)))
            data[p["offset"]:end] = chunk
    return bytes(data)


def handshake_messages(stream):
    """[(type, body)] of the TLS handshake messages in STREAM."""
    msgs = []
    while stream:
        assert len(stream) >= 4, stream.hex()
        n = int.from_bytes(stream[1:4], "big")
        assert len(stream) >= 4 + n, f"truncated handshake message: {stream.hex()}"
        msgs.append((stream[0], stream[4:4 + n]))
        stream = stream[4 + n:]
    return msgs


def extensions(data):
    """{type: data} of an extensions block (its 2-byte length first)."""
    n = int.from_bytes(data[:2], "big")
    assert len(data) == 2 + n, data.hex()
    exts, i = {}, 2
    while i < len(data):
        t, ln = int.from_bytes(data[i:i + 2], "big"), int.from_bytes(data[i + 2:i + 4], "big")
        assert t not in exts, f"extension {t} twice"
        exts[t] = data[i + 4:i + 4 + ln]
        i += 4 + ln
    return exts


def server_hello(body):
    """(random, cipher suite, extensions) of a ServerHello body."""
    random, sid_len = body[2:34], body[34]
    cipher = int.from_bytes(body[35 + sid_len:37 + sid_len], "big")
    return random, cipher, extensions(body[38 + sid_len:])


def alpn(ee_body):
    """The protocol the EncryptedExtensions' ALPN extension names."""
    ext = extensions(ee_body)[EXT_ALPN]
    assert int.from_bytes(ext[:2], "big") == len(ext) - 2 == ext[2] + 1, ext.hex()
    return ext[3:].decode()


@pytest.mark.slow(seconds=5)
def test_chromium_gets_page_over_h3_with_x25519mlkem768(page_backend, start_proxy, tmp_path):
    pki = tls_app.make_pki(tmp_path)
    p = start_proxy(tls_app.config(pki, page_backend) + "\n[experimental.h3]\n",
                    env={"RUST_LOG": "debug"})
    port = p.tls_port  # the UDP port of HTTP/3 is the TLS port
    token = uuid.uuid4().hex
    url = f"https://a.test:{port}/page?token={token}"

    # Without the pin, Chromium refuses the proxy's certificate in the QUIC
    # handshake (it closes the connection with the TLS alert
    # certificate_unknown) and, forced onto QUIC, gets no page at all; the
    # proxy audits the alert.
    dom, err, netlog = chromium_over_quic(url, tmp_path, port)
    assert '<p id="proto">' not in dom, dom
    assert not page_backend.requests, page_backend.requests
    sessions = quic_sessions(netlog, port)
    assert len(sessions) == 1, sessions
    (events,) = sessions.values()
    assert ("QUIC_SESSION_CERTIFICATE_VERIFY_FAILED", {"subjects": ["a.test"]}) in events
    closes = [ps for n, ps in events if n == "QUIC_SESSION_CONNECTION_CLOSE_FRAME_SENT"]
    assert [c["quic_wire_error"] for c in closes] == [CRYPTO_ERROR + CERTIFICATE_UNKNOWN], closes
    assert "HTTP/3.0" not in p.log()
    # the proxy audits the client's alert, as it does for TCP (SPEC 8.5)
    p.wait_log(r'WARN HTTP/3 handshake failed sni="a\.test" failure="handshake" '
               r"reason=alert 46 from the client")

    dom, err, netlog = chromium_over_quic(url, tmp_path, port, pin=spki_pin(pki["a.test"][0]))
    # (a) the page, as the browser ran it: its document came over h3
    m = re.search(r'<p id="proto">([^<]*)</p>', dom)
    assert m, f"no page from chromium:\n{dom[:2000]}\n{err[-3000:]}\nproxy:\n{p.log()[-3000:]}"
    assert m.group(1) == "h3", dom

    # (b) the backend got the browser's request, forwarded by the proxy
    got = [h for path, h in page_backend.requests if path == f"/page?token={token}"]
    assert len(got) == 1, page_backend.requests
    assert "HeadlessChrome/" in got[0]["user-agent"]
    assert got[0]["host"] == "a.test"
    assert got[0]["x-forwarded-proto"] == "https"
    assert got[0]["x-forwarded-port"] == str(port)

    # (c) the proxy served it over HTTP/3, and no TCP connection got as far
    # as a TLS handshake, done or failed (RUST_LOG=debug logs every one)
    p.wait_log(rf"a\.test:{port} <- 127\.0\.0\.1:\d+ -- "
               rf"GET /page\?token={token} HTTP/3\.0 -- 200 OK")
    assert "TLS handshake" not in p.log(), p.log()
    # and its own account of the QUIC handshake names the hybrid group
    p.wait_log(r'DEBUG HTTP/3 handshake done sni="a\.test" cipher=\S+ group=X25519MLKEM768 ')

    # (d) Chromium's net log: one QUIC session to a.test:port whose
    # handshake completed and verified a.test, and which carried the request
    sessions = quic_sessions(netlog, port)
    done = {sid: ev for sid, ev in sessions.items()
            if any(n == "QUIC_SESSION_CRYPTO_HANDSHAKE_COMPLETE" for n, _ in ev)}
    assert len(done) == 1, {sid: [n for n, _ in ev] for sid, ev in sessions.items()}
    (events,) = done.values()
    names = [n for n, _ in events]
    assert ("QUIC_SESSION_CERTIFICATE_VERIFIED", {"subjects": ["a.test"]}) in events
    sent = [ps for n, ps in events if n == "HTTP3_HEADERS_SENT"]
    assert any(f":path: /page?token={token}" in s["headers"] for s in sent), sent
    decoded = [ps for n, ps in events if n == "HTTP3_HEADERS_DECODED"]
    assert any(":status: 200" in d["headers"] and "server: rpxy" in d["headers"]
               for d in decoded), decoded
    assert "HTTP3_SETTINGS_RECEIVED" in names

    # (e) the TLS handshake inside it, from the bytes of the CRYPTO frames:
    # one ServerHello (no HelloRetryRequest) at the Initial level, TLS 1.3
    # with a key share for X25519MLKEM768 of the hybrid's size; ALPN h3 in
    # the EncryptedExtensions at the Handshake level
    initial = handshake_messages(crypto_stream(events, "ENCRYPTION_INITIAL"))
    assert [t for t, _ in initial] == [SERVER_HELLO], initial
    random, cipher, exts = server_hello(initial[0][1])
    assert random != HRR_RANDOM
    assert exts[EXT_SUPPORTED_VERSIONS] == TLS13.to_bytes(2, "big")
    share = exts[EXT_KEY_SHARE]
    group, n = int.from_bytes(share[:2], "big"), int.from_bytes(share[2:4], "big")
    assert group == X25519MLKEM768, f"group 0x{group:04x}"
    assert n == len(share) - 4 == X25519MLKEM768_SERVER_SHARE, (n, len(share))
    assert cipher in (0x1301, 0x1302, 0x1303), hex(cipher)
    hs = handshake_messages(crypto_stream(events, "ENCRYPTION_HANDSHAKE"))
    assert hs and hs[0][0] == ENCRYPTED_EXTENSIONS, [t for t, _ in hs]
    assert alpn(hs[0][1]) == "h3"
