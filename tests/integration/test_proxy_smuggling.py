"""Request-smuggling vectors closed (issue 12): framing and routing fields in
a chunked trailer are never forwarded (request and response trailers alike),
`Upgrade: h2c` is never tunnelled (the request goes on as plain HTTP/1.1, a
difference from rpxy), and a request-target with a fragment or a raw
non-ASCII byte gets 400, over HTTP/1.1 and (as a malformed stream) over
HTTP/2. The upstream is a raw socket, so the test sees the exact bytes the
proxy forwarded."""
import socket
import threading

import h2.connection
import h2.config
import h2.events
import pytest

from backends import EchoBackend, RawBackend, raw_request

H = b"Host: app.test\r\n"


def config(port):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{port}" }}] }}]
"""


class Recorder:
    """A raw upstream that records what arrives and answers each request
    with answer (bytes) once its body (chunked or not) is complete."""

    def __init__(self, answer=b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"):
        self.seen = []
        self.answer = answer
        self.backend = RawBackend(self.handle)
        self.port = self.backend.port

    def handle(self, conn):
        data = b""
        conn.settimeout(5)
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            if not _:
                continue
            chunked = b"transfer-encoding: chunked" in head.lower()
            if not chunked or rest.endswith(b"\r\n\r\n") or rest == b"0\r\n\r\n":
                self.seen.append(data)
                conn.sendall(self.answer)
                data = b""

    def stop(self):
        self.backend.stop()


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.stop()


BAD_TRAILERS = (b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\nHost: evil.test\r\n"
                b"Connection: close\r\nTE: trailers\r\nTrailer: X\r\n"
                b"X-Forwarded-For: 6.6.6.6\r\nAuthorization: Basic Zm9vOmJhcg==\r\n")


def test_request_trailer_framing_and_routing_fields_are_dropped(recorder, start_proxy):
    p = start_proxy(config(recorder.port))
    out = raw_request(p.port, b"POST /t HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n"
                      b"Connection: close\r\n\r\n3\r\nabc\r\n0\r\nX-Checksum: 1234\r\n" +
                      BAD_TRAILERS + b"X-Late: yes\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200"), out
    forwarded = recorder.seen[0]
    body = forwarded.partition(b"\r\n\r\n")[2]
    assert body == b"3\r\nabc\r\n0\r\nX-Checksum: 1234\r\nX-Late: yes\r\n\r\n", forwarded


def test_response_trailer_framing_fields_are_dropped(start_proxy):
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
              b"grpc-status: 0\r\nContent-Length: 99\r\nSet-Cookie: a=b\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    r = Recorder(answer)
    try:
        p = start_proxy(config(r.port))
        out = raw_request(p.port, b"GET /r HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")
        assert out.endswith(b"2\r\nok\r\n0\r\ngrpc-status: 0\r\n\r\n"), out
    finally:
        r.stop()


@pytest.mark.parametrize("fields", [
    # what curl --http2 sends on http://
    b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n",
    # h2c among other protocols, HTTP2-Settings not listed in Connection
    b"Connection: Upgrade\r\nUpgrade: websocket, h2c\r\nHTTP2-Settings: AAMAAABk\r\n",
], ids=["curl", "h2c-among-others"])
def test_h2c_upgrade_is_not_tunnelled(recorder, start_proxy, fields):
    """The request is answered as HTTP/1.1 and the upstream gets neither
    the Upgrade nor HTTP2-Settings."""
    p = start_proxy(config(recorder.port))
    out = raw_request(p.port, b"GET /u HTTP/1.1\r\n" + H + fields + b"\r\n", read_all=False)
    assert out.startswith(b"HTTP/1.1 200 OK"), out
    head = recorder.seen[0].lower()
    assert b"upgrade" not in head and b"http2-settings" not in head, head


def test_websocket_upgrade_still_tunnelled(start_proxy):
    be = EchoBackend()
    try:
        p = start_proxy(config(be.port))
        with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
            s.sendall(b"GET /ws HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            assert head.startswith(b"HTTP/1.1 101"), head
            s.sendall(b"ping")
            assert s.recv(4096) == b"ping"
    finally:
        be.stop()


@pytest.mark.parametrize("target", [b"/a#frag", b"http://app.test/a#f", b"/caf\xc3\xa9", b"/\x80",
                                    b"/\xff?q=1"])
def test_fragment_or_raw_non_ascii_target_is_400(recorder, start_proxy, target):
    p = start_proxy(config(recorder.port))
    out = raw_request(p.port, b"GET " + target + b" HTTP/1.1\r\n" + H + b"\r\n")
    assert out.startswith(b"HTTP/1.1 400 "), out
    assert recorder.seen == []


def test_percent_encoded_target_is_fine(recorder, start_proxy):
    p = start_proxy(config(recorder.port))
    out = raw_request(p.port, b"GET /caf%C3%A9?q=%23x HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 "), out
    assert recorder.seen[0].startswith(b"GET /caf%C3%A9?q=%23x HTTP/1.1\r\n")


@pytest.mark.parametrize("path", [b"/a#frag", b"/caf\xc3\xa9"])
def test_h2_fragment_or_non_ascii_path_is_a_malformed_stream(recorder, start_proxy, path):
    """Over h2c the same rule makes the request malformed (RFC 9113 8.1.1):
    the stream is reset with PROTOCOL_ERROR, the upstream sees nothing, and
    the connection serves the next stream."""
    p = start_proxy(config(recorder.port))
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                 validate_outbound_headers=False,
                                                                 normalize_outbound_headers=False))
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
        conn.initiate_connection()
        conn.send_headers(1, [(b":method", b"GET"), (b":scheme", b"http"),
                              (b":authority", b"app.test"), (b":path", path)], end_stream=True)
        conn.send_headers(3, [(b":method", b"GET"), (b":scheme", b"http"),
                              (b":authority", b"app.test"), (b":path", b"/fine")], end_stream=True)
        s.sendall(conn.data_to_send())
        reset, status = None, None
        while reset is None or status is None:
            data = s.recv(65536)
            assert data, "connection closed"
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.StreamReset) and ev.stream_id == 1:
                    reset = ev.error_code
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == 3:
                    status = dict(ev.headers)[b":status"]
            s.sendall(conn.data_to_send())
    assert reset == 1  # PROTOCOL_ERROR
    assert status == b"200"
    assert len(recorder.seen) == 1 and recorder.seen[0].startswith(b"GET /fine ")
