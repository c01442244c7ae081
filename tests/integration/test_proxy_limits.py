"""Connection limits and timeouts: max_clients, max_clients_per_ip,
connection_handling_timeout."""
import socket
import time

from backends import raw_request


def config(backend, extra):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
"""


def is_closed(s, wait=1.0):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_max_clients(backend, start_proxy):
    p = start_proxy(config(backend, "max_clients = 3\nworker_threads = 1"))
    time.sleep(0.5)  # the start-up probe connection is let go
    held = [socket.create_connection(("127.0.0.1", p.port)) for _ in range(3)]
    time.sleep(0.2)
    extra = socket.create_connection(("127.0.0.1", p.port))
    assert is_closed(extra), "the 4th connection is closed without an answer"
    for s in held:
        assert not is_closed(s, 0.2)
    held[0].close()
    time.sleep(0.2)
    out = raw_request(p.port, b"GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200"), "a freed slot is usable again"
    for s in held[1:]:
        s.close()


def test_max_clients_per_ip(backend, start_proxy):
    p = start_proxy(config(backend, "max_clients_per_ip = 2"))
    time.sleep(0.5)  # the start-up probe connection is let go
    held = [socket.create_connection(("127.0.0.1", p.port)) for _ in range(2)]
    time.sleep(0.2)
    extra = socket.create_connection(("127.0.0.1", p.port))
    assert is_closed(extra)
    # another source address (127.0.0.2 is also loopback) has its own slots
    other = socket.socket()
    other.bind(("127.0.0.2", 0))
    other.connect(("127.0.0.1", p.port))
    other.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    other.settimeout(5)
    assert other.recv(12) == b"HTTP/1.1 200"
    for s in held + [other]:
        s.close()


def test_connection_handling_timeout(backend, start_proxy):
    p = start_proxy(config(backend, "[experimental]\nconnection_handling_timeout = 1"))
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n")
    assert s.recv(12) == b"HTTP/1.1 200"
    t0 = time.monotonic()
    while s.recv(65536):
        pass
    assert 0.5 < time.monotonic() - t0 < 3, "closed after the hard limit although in use"
