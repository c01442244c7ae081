"""QUIC transport of the HTTP/3 listener (issue 9, SPEC 9): the handshake
on our OpenSSL through the TLS bridge with Debian's gtlsclient, Retry
address validation and NEW_TOKEN, version negotiation, stateless resets,
and garbage datagrams that change nothing."""
import base64
import os
import re
import socket
import struct

import h3util
import quic_initial as qi
from backends import EchoBackend as Backend


def udp_exchange(port, data, timeout=2.0, sock=None):
    """Sends one datagram and returns the first answer, or None; from sock
    when given (the same client port), else from a new socket."""
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(data, ("127.0.0.1", port))
        try:
            return s.recv(65536)
        except socket.timeout:
            return None
    finally:
        if sock is None:
            s.close()


def test_handshake_completes_with_gtlsclient(tmp_path, start_proxy):
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    rc, out = h3util.gtlsclient(p.tls_port, args=["--no-http-dump"])
    assert "QUIC handshake has been confirmed" in out, out[-3000:]
    assert "Negotiated ALPN h3" in out or "h3" in out
    # our transport parameters, as the client read them
    assert "initial_max_streams_bidi=64" in out, out[-3000:]
    assert "max_idle_timeout=10000\n" in out, out[-3000:]
    # ECN: our packets carry ECT(0), and the client validated the path as
    # ECN-capable (it saw its own marks counted in our ACKs)
    assert re.search(r"Received packet: .* ecn=0x2 \d+ bytes", out), out[-3000:]
    assert "path is ECN capable" in out, out[-3000:]
    be.stop()


def test_configured_transport_values_are_sent(tmp_path, start_proxy):
    """SPEC 9.3: rpxy loses these; we send what is configured."""
    be = Backend()
    h3 = "max_concurrent_bidistream = 7\nmax_concurrent_unistream = 5\nmax_idle_timeout = 4"
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be, h3=h3))
    rc, out = h3util.gtlsclient(p.tls_port, args=["--no-http-dump"])
    assert "QUIC handshake has been confirmed" in out, out[-3000:]
    assert "initial_max_streams_bidi=7" in out and "initial_max_streams_uni=5" in out, out[-3000:]
    assert "max_idle_timeout=4000\n" in out
    be.stop()


def test_retry_and_new_token(tmp_path, start_proxy):
    """retry_above_handshakes = 0: every new client proves its address with
    a Retry first; after the handshake the server hands out a NEW_TOKEN
    token (37 bytes, our 'regular' kind). Debian's gtlsclient 0.12 writes
    that token but cannot read its own file back ("Could not read token"),
    so the token's acceptance is covered by the unit test of quic/token."""
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be,
                                     h3="retry_above_handshakes = 0"))
    token = tmp_path / "token"
    rc, out = h3util.gtlsclient(p.tls_port, args=["--no-http-dump", f"--token-file={token}"])
    assert "type=Retry" in out, out[-3000:]
    assert "retry_source_connection_id=" in out
    assert "QUIC handshake has been confirmed" in out
    pem = token.read_text()
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    raw = base64.b64decode(body)
    assert len(raw) == 37 and raw[0] == 0x36, raw.hex()
    # the default threshold: no Retry for a lone client
    be2 = Backend()
    (tmp_path / "b").mkdir()
    p2 = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path / "b"), be2))
    rc, out = h3util.gtlsclient(p2.tls_port, args=["--no-http-dump"])
    assert "QUIC handshake has been confirmed" in out and "type=Retry" not in out
    be.stop()
    be2.stop()


def test_unknown_version_gets_version_negotiation(tmp_path, start_proxy):
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    dcid, scid = os.urandom(8), os.urandom(8)
    pkt = bytes([0xc0]) + struct.pack(">I", 0x1a2a3a4a) + bytes([8]) + dcid + bytes([8]) + scid
    pkt += b"\0" * (1200 - len(pkt))
    vn = udp_exchange(p.tls_port, pkt)
    assert vn is not None, "no Version Negotiation"
    assert vn[0] & 0x80 and vn[1:5] == b"\0\0\0\0", vn[:16]
    # the client's IDs swapped, then the versions we speak: 1
    assert vn[5] == 8 and vn[6:14] == scid and vn[14] == 8 and vn[15:23] == dcid
    versions = [struct.unpack(">I", vn[i:i + 4])[0] for i in range(23, len(vn), 4)]
    assert 1 in versions, versions
    # a short datagram of an unknown version is not answered (RFC 9000 6)
    assert udp_exchange(p.tls_port, pkt[:100], timeout=0.5) is None
    be.stop()


def test_unknown_connection_gets_a_stateless_reset(tmp_path, start_proxy):
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    pkt = bytes([0x40 | 0x01]) + os.urandom(16) + os.urandom(60)
    reset = udp_exchange(p.tls_port, pkt)
    assert reset is not None, "no stateless reset"
    assert not reset[0] & 0x80 and reset[0] & 0x40, hex(reset[0])  # short header form
    assert 21 <= len(reset) < len(pkt), len(reset)
    # too short to be answered without risking a loop
    assert udp_exchange(p.tls_port, pkt[:30], timeout=0.5) is None
    be.stop()


def test_garbage_datagrams_change_nothing(tmp_path, start_proxy):
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for n in (0, 1, 5, 6, 7, 20, 1199, 1200, 1500, 65000):
            s.sendto(os.urandom(n), ("127.0.0.1", p.tls_port))
        # long headers that claim to be Initials but are not
        for _ in range(50):
            s.sendto(bytes([0xc0]) + b"\0\0\0\1" + bytes([8]) + os.urandom(8) + bytes([0])
                     + os.urandom(1200), ("127.0.0.1", p.tls_port))
    rc, out = h3util.gtlsclient(p.tls_port, args=["--no-http-dump"])
    assert "QUIC handshake has been confirmed" in out, out[-3000:]
    assert p.proc.poll() is None
    be.stop()


def retry_token(retry, scid):
    """(token, the Retry's SCID) of a Retry sent to scid."""
    assert retry[0] & 0xf0 == 0xf0, hex(retry[0])  # long header, type Retry
    assert retry[1:5] == b"\0\0\0\1"
    assert retry[5] == 8 and retry[6:14] == scid  # to the client's SCID
    n = retry[14]
    return retry[15 + n:-16], retry[15:15 + n]  # the token ends before the integrity tag


GARBAGE_HELLO = qi.crypto_frame(b"\x01\x00\x00\x04abcd")  # a ClientHello too short to parse


def test_garbage_client_hello_gets_crypto_error(tmp_path, start_proxy):
    """A protected Initial whose CRYPTO data is no ClientHello: CONNECTION_CLOSE
    with CRYPTO_ERROR + decode_error (0x100 + 50), in a server Initial."""
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    dcid, scid = qi.new_ids()
    answer = udp_exchange(p.tls_port, qi.client_initial(dcid, scid, GARBAGE_HELLO))
    assert answer is not None
    assert qi.connection_close_code(qi.server_initial_frames(answer, dcid)) == 0x132
    be.stop()


def test_tokens_in_initials(tmp_path, start_proxy):
    """retry_above_handshakes = 0. No token: a Retry with a token. That token
    on a new Initial (DCID = the Retry's SCID) is accepted: the server goes
    on to read the CRYPTO data (and refuses it: CRYPTO_ERROR). A forged
    Retry token, or the real one altered, is dropped (no answer at all). An
    unknown token kind counts as none: another Retry."""
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be,
                                     h3="retry_above_handshakes = 0"))
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a Retry token binds the port
    dcid, scid = qi.new_ids()
    retry = udp_exchange(p.tls_port, qi.client_initial(dcid, scid, GARBAGE_HELLO), sock=client)
    assert retry is not None, "no Retry"
    token, retry_scid = retry_token(retry, scid)
    assert token[0] == 0xb6 and len(token) > 16, token.hex()
    # first what must be dropped (no answer at all): a forged Retry token,
    # the real one altered, the real one from another port
    forged = bytes([0xb6]) + os.urandom(len(token) - 1)
    assert udp_exchange(p.tls_port, qi.client_initial(retry_scid, scid, GARBAGE_HELLO,
                                                      token=forged), 0.5, client) is None
    bad = bytearray(token)
    bad[-1] ^= 1
    assert udp_exchange(p.tls_port, qi.client_initial(retry_scid, scid, GARBAGE_HELLO,
                                                      token=bytes(bad)), 0.5, client) is None
    assert udp_exchange(p.tls_port, qi.client_initial(retry_scid, scid, GARBAGE_HELLO,
                                                      token=token), timeout=0.5) is None
    # then the real one, from the client's port: accepted
    answer = udp_exchange(p.tls_port,
                          qi.client_initial(retry_scid, scid, GARBAGE_HELLO, token=token),
                          sock=client)
    assert answer is not None, "the Retry token was not accepted"
    assert qi.connection_close_code(qi.server_initial_frames(answer, retry_scid)) == 0x132
    client.close()
    dcid2, scid2 = qi.new_ids()
    again = udp_exchange(p.tls_port, qi.client_initial(dcid2, scid2, GARBAGE_HELLO,
                                                       token=b"\x01" + os.urandom(20)))
    assert again is not None and retry_token(again, scid2)[0][0] == 0xb6
    be.stop()


def client_hello(sni=None):
    """A TLS 1.3 ClientHello structure (no usable key share: the server
    decides on the SNI before it looks at those)."""
    ext = struct.pack(">HHBH", 43, 3, 2, 0x0304)  # supported_versions: TLS 1.3
    if sni is not None:
        name = sni.encode()
        entry = b"\0" + struct.pack(">H", len(name)) + name
        ext += struct.pack(">HH", 0, len(entry) + 2) + struct.pack(">H", len(entry)) + entry
    body = (b"\x03\x03" + os.urandom(32) + b"\0" + struct.pack(">H", 2) + b"\x13\x01"
            + b"\x01\x00" + struct.pack(">H", len(ext)) + ext)
    return b"\x01" + struct.pack(">I", len(body))[1:] + body


def test_no_sni_is_dropped_with_rpxys_warning(tmp_path, start_proxy):
    """SPEC 9.2: a QUIC connection without SNI is dropped, WARN `HTTP/3 no
    SNI is given`; an unknown name is an INFO handshake failure."""
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    dcid, scid = qi.new_ids()
    answer = udp_exchange(p.tls_port, qi.client_initial(dcid, scid,
                                                        qi.crypto_frame(client_hello())))
    assert answer is not None
    code = qi.connection_close_code(qi.server_initial_frames(answer, dcid))
    assert code is not None and code >= 0x100, code  # a CRYPTO_ERROR
    p.wait_log(r"WARN HTTP/3 no SNI is given")
    dcid, scid = qi.new_ids()
    udp_exchange(p.tls_port, qi.client_initial(dcid, scid,
                                               qi.crypto_frame(client_hello("nobody.test"))))
    p.wait_log(r'INFO HTTP/3 handshake failed sni="nobody\.test" failure="unknown_sni"')
    be.stop()


def test_closing_period_answers_late_packets_sparingly(tmp_path, start_proxy):
    """RFC 9000 10.2.1: in its closing period the server answers late
    packets with its CONNECTION_CLOSE, but not every one: here the 1st, 2nd,
    4th and 8th of ten."""
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(0.3)
    dcid, scid = qi.new_ids()
    first = udp_exchange(p.tls_port, qi.client_initial(dcid, scid, GARBAGE_HELLO), sock=client)
    assert qi.connection_close_code(qi.server_initial_frames(first, dcid)) == 0x132
    for n in range(10):
        client.sendto(qi.client_initial(dcid, scid, GARBAGE_HELLO, pn=n + 1),
                      ("127.0.0.1", p.tls_port))
    answers = []
    try:
        while True:
            answers.append(client.recv(65536))
    except socket.timeout:
        pass
    client.close()
    assert len(answers) == 4, len(answers)
    assert all(qi.connection_close_code(qi.server_initial_frames(a, dcid)) == 0x132
               for a in answers)
    be.stop()


def test_stateless_resets_are_rate_limited(tmp_path, start_proxy):
    """At most 100 stateless resets per second per worker: 300 packets for
    unknown connections in a burst get no more than 100 answers."""
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be,
                                     extra="worker_threads = 1"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        for _ in range(300):
            s.sendto(bytes([0x41]) + os.urandom(76), ("127.0.0.1", p.tls_port))
        s.settimeout(0.5)
        answers = 0
        try:
            while True:
                s.recv(65536)
                answers += 1
        except socket.timeout:
            pass
    assert 50 <= answers <= 100, answers
    be.stop()
