"""Bad input on the HTTP/3 listener (issue "Bad input"): frames forbidden
on a stream type, an oversized QPACK field section, and a peer over its
stream and flow-control limits (QUIC frames ngtcp2's client API refuses to
send, so h3load forges them into a 1-RTT packet). Each probe is
`h3load --probe=NAME`, which breaks one rule after the handshake and prints
what the server answered; every test then checks that another client is
still served and that the proxy did not crash (start_proxy's teardown wants
exit 0, no sanitizer report)."""
import subprocess

import pytest

import h3util
from backends import EchoBackend as Backend
from conftest import BUILD

H3LOAD = BUILD / "h3load"

H3_STREAM_CREATION_ERROR = 0x103
H3_FRAME_UNEXPECTED = 0x105
H3_MISSING_SETTINGS = 0x10A


def h3load(port, *args, timeout=30):
    cmd = [str(H3LOAD), "--sni", "localhost", "--connect-to", f"127.0.0.1:{port}",
           "--timeout", "3", *args, f"https://localhost:{port}/"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def probe(port, name):
    """{key: [values]} of the probe's output lines."""
    rc, out, err = h3load(port, f"--probe={name}")
    assert rc == 0, out + err
    seen = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        seen.setdefault(key, []).append(value)
    return seen, out + err


@pytest.fixture
def proxy(tmp_path, start_proxy):
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be))
    yield p
    assert p.proc.poll() is None, p.log()[-3000:]
    rc, out, err = h3load(p.tls_port, "-n", "1")
    assert rc == 0 and "succeeded 1" in out, out + err
    be.stop()


# (probe, the rule it breaks, the connection error RFC 9114 asks for)
CONNECTION_ERRORS = [
    ("control2", "6.2.1: a second control stream", H3_STREAM_CREATION_ERROR),
    ("control-data", "7.2.1: DATA on the control stream", H3_FRAME_UNEXPECTED),
    ("missing-settings", "6.2.1: a first control frame other than SETTINGS",
     H3_MISSING_SETTINGS),
    ("settings-twice", "7.2.4: a second SETTINGS", H3_FRAME_UNEXPECTED),
    ("h2-frame", "7.2.8: HTTP/2's frame type 0x06 (PING) on a request stream",
     H3_FRAME_UNEXPECTED),
]


@pytest.mark.parametrize("name,rule,code", CONNECTION_ERRORS,
                         ids=[c[0] for c in CONNECTION_ERRORS])
def test_forbidden_frame_closes_the_connection(proxy, name, rule, code):
    """The server closes the connection (CONNECTION_CLOSE of type 0x1d, an
    application error) with the code of the rule."""
    seen, out = probe(proxy.tls_port, name)
    assert seen.get("close_error_type") == ["application"], (rule, out)
    assert seen.get("close_error_code") == [hex(code)], (rule, out)


def test_field_section_above_the_limit(proxy):
    """SETTINGS_MAX_FIELD_SECTION_SIZE is 64 KiB: h3_server.c answers a
    larger request head with 431 (RFC 6585) and stops reading the stream
    (STOP_SENDING H3_NO_ERROR, which ngtcp2 0.12's client does not report);
    the connection stays up."""
    seen, out = probe(proxy.tls_port, "big-headers")
    assert seen.get("status") == ["431"], out
    assert "close_error_code" not in seen, out


# (probe, the rule it breaks, the transport error RFC 9000 asks for)
TRANSPORT_ERRORS = [
    ("stream-limit", "4.6: a stream over initial_max_streams_bidi", 0x04, "12", "0"),
    ("flow-control", "4.1: data past initial_max_stream_data_bidi_remote", 0x03,
     "0", str(64 << 10)),
    ("stream-state", "19.8: STREAM on a send-only stream of the server", 0x05, "3", "0"),
]


@pytest.mark.parametrize("name,rule,code,stream,offset", TRANSPORT_ERRORS,
                         ids=[c[0] for c in TRANSPORT_ERRORS])
def test_peer_over_quic_limits_closes_the_connection(tmp_path, start_proxy, name, rule, code,
                                                     stream, offset):
    """A peer exceeding the limits it was given: h3load forges the frame into
    a 1-RTT packet (ngtcp2's client API would refuse it) and the server
    closes the connection with the transport error of the rule. The limits
    are the configured ones (max_concurrent_bidistream = 3, so stream 12 is
    the first over it; a request stream's window is 64 KiB), not library
    defaults; another client is still served."""
    be = Backend()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), be,
                                     h3="max_concurrent_bidistream = 3"))
    try:
        seen, out = probe(p.tls_port, name)
        assert seen.get("forged_stream") == [stream], out
        assert seen.get("forged_offset") == [offset], out
        assert seen.get("close_error_type") == ["transport"], (rule, out)
        assert seen.get("close_error_code") == [hex(code)], (rule, out)
        rc, out, err = h3load(p.tls_port, "-n", "4", "-m", "4")
        assert rc == 0 and "succeeded 4" in out, out + err
    finally:
        be.stop()
    assert p.proc.poll() is None, p.log()[-3000:]


@pytest.mark.parametrize("path", ["/a#frag", "/caf\u00e9"])
def test_fragment_or_non_ascii_path_is_a_malformed_request(proxy, path):
    """The request-target rule of HTTP/1.1 holds for :path: the stream is
    reset (H3_MESSAGE_ERROR) instead of reaching the upstream; the
    connection fixture then checks another request is served."""
    cmd = [str(H3LOAD), "--sni", "localhost", "--connect-to", f"127.0.0.1:{proxy.tls_port}",
           "--timeout", "3", "-n", "1", f"https://localhost:{proxy.tls_port}{path}"]
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    out = p.stdout.decode()
    assert "succeeded 0" in out and "errors 1" in out, out + p.stderr.decode()
