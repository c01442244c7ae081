"""HTTP/1.1 Upgrade (WebSocket) is tunnelled byte for byte after 101, also
through replace_path routes; mismatches are 500 as SPEC 4.8/4.10 say."""
import socket

from backends import RawBackend, read_head

UPGRADE = (b"GET /ws/chat HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\n"
           b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


def config(port, path_part=""):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "app.test"
[[apps.app.reverse_proxy]]
{path_part}
upstream = [{{ location = "127.0.0.1:{port}" }}]
"""


def echo_upgrade(seen):
    def handler(c):
        head = read_head(c)
        seen.append(head)
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
        while True:
            data = c.recv(65536)
            if not data:
                return
            c.sendall(data)
    return handler


def recv_exactly(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        assert d, "closed early"
        out += d
    return out


def tunnel_roundtrip(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(UPGRADE)
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head, "101 returned as is"
    for size in (1, 100, 70000, 1000000):
        payload = bytes(range(256)) * (size // 256) + b"\x00" * (size % 256)
        s.sendall(payload)
        assert recv_exactly(s, len(payload)) == payload
    s.shutdown(socket.SHUT_WR)
    assert s.recv(10) == b"", "the end is passed through"
    s.close()


def test_websocket_tunnel(start_proxy):
    seen = []
    b = RawBackend(echo_upgrade(seen))
    p = start_proxy(config(b.port))
    tunnel_roundtrip(p.port)
    head = seen[0].lower()
    assert b"upgrade: websocket\r\n" in head and b"connection: upgrade\r\n" in head
    assert b"sec-websocket-key: dghlihnhbxbszsbub25jzq==" in head
    p.wait_log(r"GET /ws/chat HTTP/1\.1 -- 101 Switching Protocols")
    b.stop()


def test_websocket_through_replace_path(start_proxy):
    seen = []
    b = RawBackend(echo_upgrade(seen))
    p = start_proxy(config(b.port, 'path = "/ws"\nreplace_path = "/socket"'))
    tunnel_roundtrip(p.port)
    assert seen[0].startswith(b"GET /socket/chat HTTP/1.1\r\n")
    b.stop()


def test_upgrade_on_http10_is_500(start_proxy):
    b = RawBackend(echo_upgrade([]))
    p = start_proxy(config(b.port))
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.sendall(UPGRADE.replace(b"HTTP/1.1", b"HTTP/1.0"))
    assert s.recv(100).startswith(b"HTTP/1.1 500 ")
    b.stop()


def test_mismatched_upgrade_is_500(start_proxy):
    def handler(c):
        read_head(c)
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")
    b = RawBackend(handler)
    p = start_proxy(config(b.port))
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.sendall(UPGRADE)
    assert s.recv(100).startswith(b"HTTP/1.1 500 ")
    b.stop()


def test_upgrade_refused_by_backend_is_a_normal_response(start_proxy):
    def handler(c):
        read_head(c)
        c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno")
    b = RawBackend(handler)
    p = start_proxy(config(b.port))
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.sendall(UPGRADE)
    out = s.recv(1000)
    assert out.startswith(b"HTTP/1.1 403 Forbidden\r\n") and out.endswith(b"no")
    b.stop()
