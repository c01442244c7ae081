"""How the proxy ends a connection after its last response: close_notify
and the FIN leave with the response's last bytes in one TCP segment; after
a complete request with nothing more received the socket is closed at once,
while a client that sent more than it was answered gets a lingering close
(half-close, input read and dropped until its FIN), so the reset that
unread input would cause cannot destroy the response."""
import ctypes
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest

import tls_app
import tlsclient


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return tls_app.make_pki(tmp_path_factory.mktemp("pki"))


SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)  # <asm-generic/socket.h>


def tcp_port_filter(port):
    """A classic BPF program (struct sock_fprog) passing only the Ethernet
    frames of IPv4 TCP segments from or to PORT (what `tcpdump -dd tcp port
    PORT` gives for IPv4), and the buffer it points into, to keep alive
    until attached."""
    code = [
        (0x28, 0, 0, 12),         # ldh [12]            ethertype
        (0x15, 0, 10, 0x0800),    # jeq IPv4, else drop
        (0x30, 0, 0, 23),         # ldb [23]            IP protocol
        (0x15, 0, 8, 6),          # jeq TCP, else drop
        (0x28, 0, 0, 20),         # ldh [20]            fragment offset
        (0x45, 6, 0, 0x1FFF),     # jset: a later fragment, drop
        (0xB1, 0, 0, 14),         # ldxb 4*([14]&0xf)   IP header length
        (0x48, 0, 0, 14),         # ldh [x+14]          source port
        (0x15, 2, 0, port),       # jeq PORT: accept
        (0x48, 0, 0, 16),         # ldh [x+16]          destination port
        (0x15, 0, 1, port),       # jeq PORT: accept, else drop
        (0x06, 0, 0, 0x40000),    # accept: ret 256 KiB
        (0x06, 0, 0, 0),          # drop: ret 0
    ]
    insns = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in code))
    return struct.pack("HL", len(code), ctypes.addressof(insns)), insns


class LoopbackCapture:
    """TCP segments seen on the loopback interface (an AF_PACKET socket:
    the tests run as root) from or to PORT, as (src_port, dst_port, flags,
    payload_len). A socket filter keeps every other frame out of its receive
    queue: with tests running in parallel, other tests' loopback traffic
    (h2load's 20,000 requests) would fill it, and the kernel would drop the
    segments looked for."""

    def __init__(self, port):
        self.port = port
        self.segments = []
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        prog, insns = tcp_port_filter(port)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)
        del insns  # the kernel has its copy
        # frames queued before the filter was attached (the socket receives
        # from its creation on) are dropped by _run as not PORT's
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.1)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                frame, addr = self.sock.recvfrom(262144)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING:
                continue  # every loopback frame is seen twice: out and in
            if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            if ip[9] != 6:
                continue
            tcp = ip[ihl:]
            src, dst = struct.unpack("!HH", tcp[:4])
            doff = (tcp[12] >> 4) * 4
            flags = tcp[13]
            if self.port in (src, dst):
                self.segments.append((src, dst, flags, total - ihl - doff))

    def stop(self):
        time.sleep(0.2)
        self.running = False
        self.thread.join()
        self.sock.close()
        return self.segments


FIN = 0x01


def test_close_notify_and_fin_ride_with_the_last_response_bytes(pki, backend, start_proxy):
    p = start_proxy(tls_app.config(pki, backend))
    cap = LoopbackCapture(p.tls_port)
    with tlsclient.connect(p.tls_port, "a.test", tlsclient.context(ca=pki["ca"])) as s:
        client_port = s.getsockname()[1]
        r = tlsclient.request(s, "/last", close=True)
        assert r.status == 200 and b'"/last"' in r.body
    segments = [x for x in cap.stop() if client_port in x[:2]]
    from_proxy = [(flags, n) for src, _, flags, n in segments if src == p.tls_port]
    fins = [(flags, n) for flags, n in from_proxy if flags & FIN]
    assert len(fins) == 1, segments
    # the FIN segment carries the response and close_notify (the last data
    # segment of the connection), not nothing
    assert fins[0][1] > 0, segments
    assert from_proxy.index(fins[0]) == max(i for i, (_, n) in enumerate(from_proxy) if n > 0)


def owner_of_server_side(port, client_port):
    """(state, owned by rpxy?) of the proxy's end of the connection."""
    out = subprocess.run(["ss", "-Htanp", f"( sport = :{port} and dport = :{client_port} )"],
                         capture_output=True, text=True, check=True).stdout.strip()
    if not out:
        return None, False
    return out.split()[0], "rpxy" in out


def wait_owner(port, client_port, owned, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        state, is_owned = owner_of_server_side(port, client_port)
        if is_owned == owned:
            return state
        assert time.monotonic() < deadline, (state, is_owned)
        time.sleep(0.05)


@pytest.mark.parametrize("tls", [False, True], ids=["plaintext", "tls"])
def test_closes_at_once_after_a_complete_request(pki, backend, start_proxy, tls):
    p = start_proxy(tls_app.config(pki, backend) if tls else config_plain(backend))
    port = p.tls_port if tls else p.port
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if tls:
        s = tlsclient.context(ca=pki["ca"]).wrap_socket(s, server_hostname="a.test")
    client_port = s.getsockname()[1]
    s.sendall(b"GET /once HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ssl.SSLError:
            break
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    # our socket stays open; the proxy's end is no longer rpxy's (orphaned in
    # FIN-WAIT): it did not wait for our FIN (a lingering close would hold
    # it for 2 s)
    state = wait_owner(port, client_port, owned=False, timeout=1)
    assert state in ("FIN-WAIT-1", "FIN-WAIT-2", None), state
    s.close()


def test_lingers_when_the_client_sent_more_than_was_answered(backend, start_proxy):
    p = start_proxy(config_plain(backend))
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    client_port = s.getsockname()[1]
    # a request asking for the close, and a pipelined one that will not be
    # answered: closing with it unread would reset the connection
    s.sendall(b"GET /first HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
              b"GET /second HTTP/1.1\r\nHost: a.test\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"/first" in data
    assert b"/second" not in data
    # the proxy still holds its half-closed end, reading until our FIN ...
    time.sleep(0.3)
    assert owner_of_server_side(p.port, client_port)[1]
    s.close()
    # ... and lets go of it when the FIN comes
    wait_owner(p.port, client_port, owned=False)


def config_plain(backend):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.a]
server_name = "a.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
"""
