"""HTTP/2 downstream, abusive clients: rapid reset (CVE-2023-44487), PING,
SETTINGS, empty DATA and CONTINUATION floods, and an HPACK bomb. The proxy
ends the offending connection within a bounded time, and meanwhile a normal
client on another connection is served promptly."""
import socket
import threading
import time

import pytest

import h2frames as hf
from backends import EchoBackend
from h2util import plain_config

ATTACK_CODES = (hf.PROTOCOL_ERROR, hf.ENHANCE_YOUR_CALM, hf.COMPRESSION_ERROR,
                hf.FRAME_SIZE_ERROR, hf.INTERNAL_ERROR)
BOUND = 5.0  # seconds from the start of a flood to the end of its connection


@pytest.fixture
def proxy(backend, start_proxy):
    """app.test (the attacker's) and normal.test, each with its own backend,
    so that the normal client measures the proxy, not a busy backend."""
    normal = EchoBackend("normal")
    yield start_proxy(plain_config(backend, tail=f"""
[apps.normal]
server_name = "normal.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{normal.port}" }}] }}]
"""))
    normal.stop()


def normal_client_latency(port):
    t0 = time.monotonic()
    with hf.H2Conn.plain(port, timeout=5) as c:
        st = c.get("/normal", authority="normal.test", timeout=5)
    assert st.status == 200, st
    return time.monotonic() - t0


def flood(p, attack):
    """Runs attack(conn) (it sends; returns when done or the socket failed)
    in a thread on a fresh connection while a normal client makes requests
    on other connections, then reads the attacker's connection until a
    GOAWAY, and then until the close. Returns (how, goaway frame, seconds
    from the start to the end of the connection, conn)."""
    c = hf.H2Conn.plain(p.port, timeout=5)
    c.auto_ping = False

    def run():
        try:
            attack(c)
        except OSError:  # the proxy closed or stopped reading
            pass

    t0 = time.monotonic()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    latencies = [normal_client_latency(p.port)]
    while t.is_alive() and time.monotonic() - t0 < BOUND or len(latencies) < 3:
        latencies.append(normal_client_latency(p.port))
    t.join(BOUND)
    how, goaway = c.wait_end(max(0.1, BOUND - (time.monotonic() - t0)))
    assert max(latencies) < 2, f"a normal client waited {max(latencies):.2f}s during the flood"
    assert how != "open", f"the flooding connection is still open after " \
                          f"{time.monotonic() - t0:.1f}s: {c.frames[-5:]}"
    if how == "goaway":
        assert goaway.error_code in ATTACK_CODES, goaway
        assert c.drain_until_closed(max(0.1, BOUND - (time.monotonic() - t0))), \
            "GOAWAY sent but the connection is not closed"
    elapsed = time.monotonic() - t0
    assert elapsed <= BOUND + 0.5, elapsed
    # and the proxy still serves
    assert normal_client_latency(p.port) < 2
    c.close()
    return how, goaway, elapsed, c


def send_for(c, make_batch, seconds=3.0, limit=None):
    """Sends batches until the proxy stops taking them, `seconds` passed,
    or `limit` batches were sent."""
    c.sock.settimeout(1.0)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and (limit is None or n < limit):
        try:
            c.send(make_batch())
        except socket.timeout:
            return
        n += 1


def test_rapid_reset(backend, proxy):
    p = proxy

    def attack(c):
        def batch():
            out = bytearray()
            for _ in range(100):
                sid = c.new_stream()
                out += c.headers_frames(sid, c.request_headers("GET", "/reset"))
                out += hf.rst_frame(sid, hf.CANCEL)
            return bytes(out)
        send_for(c, batch, limit=200)  # up to 20,000 streams

    flood(p, attack)
    # the cancelled streams did not each cost a request to the backend
    assert len(backend.requests) < 2000, len(backend.requests)


def test_ping_flood(backend, proxy):
    p = proxy

    def attack(c):
        send_for(c, lambda: hf.ping_frame(b"12345678") * 1000, limit=100)

    flood(p, attack)


def test_settings_flood(backend, proxy):
    p = proxy

    def attack(c):
        send_for(c, lambda: hf.settings_frame([(hf.SETTINGS_INITIAL_WINDOW_SIZE, 65535)]) * 1000,
                 limit=100)

    flood(p, attack)


def test_empty_data_flood(backend, proxy):
    p = proxy

    def attack(c):
        sid = c.new_stream()
        c.send_headers(sid, c.request_headers("POST", "/upload"), end_stream=False)
        send_for(c, lambda: hf.data_frame(sid, b"") * 1000, limit=100)

    flood(p, attack)


def test_continuation_flood_growing_header_list(backend, proxy):
    p = proxy

    def attack(c):
        sid = c.new_stream()
        block = b"".join(hf.hpack_literal(n, v) for n, v in c.request_headers("GET", "/cont"))
        c.send(hf.frame(hf.HEADERS, 0, sid, block))
        counter = [0]

        def batch():
            out = bytearray()
            for _ in range(50):
                counter[0] += 1
                field = hf.hpack_literal(f"x-c{counter[0]}", "v" * 1000)
                out += hf.frame(hf.CONTINUATION, 0, sid, field)
            return bytes(out)
        send_for(c, batch, limit=200)  # up to 10 MB of header fields, never END_HEADERS

    flood(p, attack)
    assert not any(r[1] == "/cont" for r in backend.requests)


def test_continuation_flood_empty_frames(backend, proxy):
    p = proxy

    def attack(c):
        sid = c.new_stream()
        block = b"".join(hf.hpack_literal(n, v) for n, v in c.request_headers("GET", "/cont"))
        c.send(hf.frame(hf.HEADERS, 0, sid, block))
        send_for(c, lambda: hf.frame(hf.CONTINUATION, 0, sid, b"") * 1000, limit=200)

    flood(p, attack)
    assert not any(r[1] == "/cont" for r in backend.requests)


def rss_peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_hpack_bomb(backend, proxy):
    """One 4000-byte field put in the dynamic table, then referenced 16,000
    times in one header block (16 KiB on the wire, 64 MB decoded). The
    request is refused (431, a reset stream, or the connection ended) and
    the proxy does not build the list in memory."""
    p = proxy

    def block(path, value, refs):
        pseudo = [(":method", "GET"), (":scheme", "http"), (":authority", "app.test"),
                  (":path", path)]
        return (b"".join(hf.hpack_literal(n, v) for n, v in pseudo)
                + hf.hpack_literal("x-bomb", value, index=True) + hf.hpack_indexed(62) * refs)

    # the same encoding, small: served, the field arrives four times
    with hf.H2Conn.plain(p.port) as c:
        sid = c.new_stream()
        c.send(c.headers_frames(sid, None, block=block("/small", "s" * 100, 3)))
        st = c.response(sid)
        assert st.status == 200
        assert hf.headers_dict(st.json())["x-bomb"] == [", ".join(["s" * 100] * 4)] or \
            hf.headers_dict(st.json())["x-bomb"] == ["s" * 100] * 4
    with hf.H2Conn.plain(p.port) as c:
        assert c.get("/warm-up").status == 200
        before = rss_peak_kib(p.proc.pid)
        sid = c.new_stream()
        t0 = time.monotonic()
        c.send(c.headers_frames(sid, None, block=block("/bomb", "b" * 4000, 16000)))
        st = c.stream(sid)
        try:
            c.wait(lambda: st.done or c.goaways, BOUND, what="the bomb's fate")
        except hf.ConnectionEnded:
            pass
        elapsed = time.monotonic() - t0
        assert st.status in (None, 431), st
        assert st.done or c.goaways or c.closed, st
        if c.goaways:
            assert c.goaways[0].error_code in ATTACK_CODES, c.goaways
        assert elapsed < BOUND
    assert normal_client_latency(p.port) < 2
    assert not any(r[1] == "/bomb" for r in backend.requests)
    grown = rss_peak_kib(p.proc.pid) - before
    assert grown < 32 * 1024, f"peak RSS grew by {grown} KiB"
