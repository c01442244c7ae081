"""HTTP/2 downstream, limits (SPEC 2.1, 11): max_concurrent_streams announced
and enforced with REFUSED_STREAM; max_clients counts an h2 connection once."""
import socket
import time

import h2frames as hf
from h2util import H1Backend, plain_config


def test_default_max_concurrent_streams_is_64(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        assert c.server_settings.get(hf.SETTINGS_MAX_CONCURRENT_STREAMS) == 64, c.server_settings


def test_max_concurrent_streams_announced_and_enforced(start_proxy):
    """The limit is announced in SETTINGS; a client that ignores it ends its
    connection: nghttp2 makes a stream over an acknowledged limit a
    connection error (GOAWAY PROTOCOL_ERROR), where RFC 9113 5.1.2 asks for
    a stream error. A deliberate, documented difference (docs/config.md):
    clients that honour SETTINGS never see it, and a fresh connection
    works."""
    b = H1Backend()  # /slow... answered after 0.5 s
    p = start_proxy(plain_config(b, extra="max_concurrent_streams = 3"))
    with hf.H2Conn.plain(p.port) as c:
        assert c.server_settings.get(hf.SETTINGS_MAX_CONCURRENT_STREAMS) == 3, c.server_settings
        # up to the limit: all served
        sts = c.responses([c.request("GET", f"/slow{i}") for i in range(3)], timeout=5)
        assert [st.status for st in sts] == [200, 200, 200]
        # our SETTINGS ACK went out in the handshake, before these HEADERS
        out = b""
        for i in range(4):
            out += c.headers_frames(c.new_stream(), c.request_headers("GET", f"/over{i}"))
        c.send(out)
        kind, goaway = c.wait_end(timeout=5)
        assert kind == "goaway", kind
        assert goaway.error_code == hf.PROTOCOL_ERROR, goaway
        assert b"max concurrent streams" in goaway.payload[8:], goaway
    # the connection is gone, the proxy is not: a new one is served
    with hf.H2Conn.plain(p.port) as c:
        assert c.get("/after").status == 200
    assert "/after" in b.paths() and "/over3" not in b.paths()
    b.stop()


def is_closed(s, wait=1.0):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_max_clients_counts_an_h2_connection_once(start_proxy):
    b = H1Backend()
    p = start_proxy(plain_config(b, extra="max_clients = 2\nworker_threads = 1"))
    time.sleep(0.5)  # the start-up probe connection is let go
    busy = hf.H2Conn.plain(p.port)
    sids = [busy.request("GET", f"/slow-{i}") for i in range(10)]
    time.sleep(0.2)
    # ten streams in flight on one connection use one slot: a second
    # connection is still admitted ...
    with hf.H2Conn.plain(p.port) as second:
        st = second.get("/second")
        assert st.status == 200
        # ... and a third is not
        third = socket.create_connection(("127.0.0.1", p.port))
        assert is_closed(third), "the 3rd connection is closed without an answer"
        third.close()
    sts = busy.responses(sids, timeout=10)
    assert all(st.status == 200 for st in sts), sts
    busy.close()
    time.sleep(0.2)
    with hf.H2Conn.plain(p.port) as again:
        assert again.get("/again").status == 200
    b.stop()
