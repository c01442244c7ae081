"""gRPC end to end through the proxy (SPEC 4.9 step 14, 4.10; README
"gRPC works end to end"): python3-grpcio client and server with generic
handlers, through the TLS listener (h2, SNI a.test) and the plaintext one
(h2c prior knowledge), to an h2c upstream and to a TLS upstream verified by
the proxy (SSL_CERT_FILE names the upstream CA; certificate for localhost).
Unary with metadata both ways, the three kinds of streaming, 4 MiB
messages, statuses in trailers, deadlines and cancellation both ways."""
import queue
import socket
import threading
import time

import grpc
import pytest

import certs
from grpc_backend import GrpcServer, H2Backend, grpc_channel, grpc_reset_handler, h2_tls_context

COMBOS = [("h2c", "h2c"), ("h2c", "tls"), ("tls", "h2c"), ("tls", "tls")]
COMBO_IDS = [f"client-{c}-upstream-{u}" for c, u in COMBOS]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("grpc-pki"))
    front_ca = certs.make_ca("front CA")
    up_ca = certs.make_ca("upstream CA")
    up_leaf = certs.make_leaf(up_ca, ["localhost"])
    up_crt, up_key = up_leaf.write(d, "localhost")
    return {
        "front_ca_pem": front_ca.cert_pem(),
        "a.test": certs.make_leaf(front_ca, ["a.test"]).write(d, "a.test"),
        "up_ca": certs.write_ca(up_ca, d, "upstream-ca.pem"),
        "up_pem": (up_leaf.cert_pem(), up_leaf.key_pem()),
        "up_files": (up_crt, up_key),
    }


def proxy_config(pki, upstream_port, upstream_tls, options="[]"):
    crt, key = pki["a.test"]
    loc = f"localhost:{upstream_port}" if upstream_tls else f"127.0.0.1:{upstream_port}"
    return f"""
listen_port = {{port}}
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
[apps.a]
server_name = "a.test"
tls = {{ tls_cert_path = "{crt}", tls_cert_key_path = "{key}", https_redirection = false }}
[[apps.a.reverse_proxy]]
upstream = [{{ location = "{loc}", tls = {str(upstream_tls).lower()} }}]
upstream_options = {options}
"""


class Rig:
    """A gRPC server behind a proxy, and a channel to the proxy."""

    def __init__(self, client, upstream, proxy, server, channel):
        self.client, self.upstream = client, upstream
        self.proxy, self.server, self.channel = proxy, server, channel

    def unary(self, method="/t.S/U"):
        return self.channel.unary_unary(method)


def wait_listening(port, timeout=10):
    """start_proxy waits for the plaintext port; the TLS one may come a
    moment later."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def channel_to(p, client, pki):
    if client == "tls":
        wait_listening(p.tls_port)
        return grpc_channel(p.tls_port, tls_ca=pki["front_ca_pem"])
    return grpc_channel(p.port)


def start_rig(pki, start_proxy, client, upstream, options="[]", server=None):
    tls_up = upstream == "tls"
    if server is None:
        server = GrpcServer(tls=pki["up_pem"] if tls_up else None)
    p = start_proxy(proxy_config(pki, server.port, tls_up, options),
                    env={"SSL_CERT_FILE": pki["up_ca"]} if tls_up else None)
    return Rig(client, upstream, p, server, channel_to(p, client, pki))


@pytest.fixture(params=COMBOS, ids=COMBO_IDS)
def rig(request, pki, start_proxy):
    client, upstream = request.param
    r = start_rig(pki, start_proxy, client, upstream)
    yield r
    r.channel.close()
    r.server.stop()


def get_within(q, timeout, what):
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no {what} within {timeout}s") from None


# ------------------------------------------------------------------ unary

def test_unary_metadata_both_ways(rig):
    md = [("x-tag", "unary"), ("x-req-md", "hello"), ("x-req-bin", b"\x00\xffbinary")]
    resp, call = rig.unary().with_call(b"ping", metadata=md, timeout=7)
    assert resp == b"echo:ping"
    assert call.code() == grpc.StatusCode.OK
    # initial metadata (response headers) and trailing metadata (trailers)
    assert ("x-initial", "init-value") in tuple(call.initial_metadata())
    trailing = dict(call.trailing_metadata())
    assert trailing.get("x-trailing") == "trail-value", call.trailing_metadata()
    assert trailing.get("x-trailing-bin") == b"\x00\x01\xfe\xff"
    # what the server received
    rec = rig.server.record("unary")
    assert rec.messages == [b"ping"]
    assert rec.md("x-req-md") == ["hello"]
    assert rec.md("x-req-bin") == [b"\x00\xffbinary"]
    assert rec.md("x-forwarded-proto") == ["https" if rig.client == "tls" else "http"]
    assert rec.md("x-forwarded-for") == ["127.0.0.1"]
    # the client's grpc-timeout reached the server as its deadline (without
    # it the server's time_remaining is about 9.2e18 s; grpc's own rounding
    # lets it exceed the client's 7 s by a few ms)
    assert rec.time_remaining is not None and 5 < rec.time_remaining < 7.5
    # a second call on the same channel
    assert rig.unary()(b"again", metadata=[("x-tag", "unary-2")], timeout=10) == b"echo:again"


def test_unknown_method_is_unimplemented(rig):
    with pytest.raises(grpc.RpcError) as ei:
        rig.unary("/t.S/Missing")(b"x", timeout=10)
    assert ei.value.code() == grpc.StatusCode.UNIMPLEMENTED, ei.value


def test_error_status_and_message_in_trailers(rig):
    with pytest.raises(grpc.RpcError) as ei:
        rig.unary()(b"nope", metadata=[("x-tag", "err"), ("x-mode", "notfound")], timeout=10)
    e = ei.value
    assert e.code() == grpc.StatusCode.NOT_FOUND, e
    assert e.details() == "nope"
    assert ("x-err-detail", "missing thing") in tuple(e.trailing_metadata())
    # a message that travels percent-encoded (non-ASCII, '%')
    msg = "nöpe: 100% sûr"
    with pytest.raises(grpc.RpcError) as ei:
        rig.unary()(msg.encode(), metadata=[("x-tag", "err-2"), ("x-mode", "notfound")],
                    timeout=10)
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    assert ei.value.details() == msg


def test_4mib_messages_both_ways(rig):
    payload = bytes(range(256)) * (4 * 1024 * 1024 // 256)
    resp = rig.unary()(payload, metadata=[("x-tag", "big"), ("x-mode", "reverse")], timeout=60)
    assert len(resp) == len(payload)
    assert resp == payload[::-1]
    assert rig.server.record("big").messages == [payload]


# -------------------------------------------------------------- streaming

def test_server_streaming(rig):
    call = rig.channel.unary_stream("/t.S/SS")(b"20", metadata=[("x-tag", "ss")], timeout=10)
    msgs = list(call)
    assert msgs == [b"msg-%d-" % i + b"x" * (i * 100) for i in range(20)]
    assert call.code() == grpc.StatusCode.OK
    assert ("x-count", "20") in tuple(call.trailing_metadata())


def test_client_streaming_is_not_buffered(rig):
    def requests():
        for i in range(5):
            yield b"c%d" % i
            time.sleep(0.15)

    resp, call = rig.channel.stream_unary("/t.S/CS").with_call(
        requests(), metadata=[("x-tag", "cs")], timeout=10)
    assert resp == b"5:c0|c1|c2|c3|c4"
    assert call.code() == grpc.StatusCode.OK
    rec = rig.server.record("cs")
    assert rec.messages == [b"c%d" % i for i in range(5)]
    # the messages reached the server as they were sent, not all at the end
    spread = rec.message_times[-1] - rec.message_times[0]
    assert spread > 0.4, f"5 messages sent over 0.6 s arrived within {spread:.3f}s"


def test_bidirectional_streaming_is_interactive(rig):
    """Each message is sent only after the reply to the previous one
    arrived: a proxy holding back either direction until the stream ends
    would deadlock here."""
    outgoing = queue.Queue()
    replies = queue.Queue()

    def requests():
        while True:
            m = outgoing.get()
            if m is None:
                return
            yield m

    call = rig.channel.stream_stream("/t.S/B")(requests(), metadata=[("x-tag", "bidi")],
                                               timeout=30)

    def reader():
        try:
            for r in call:
                replies.put(r)
            replies.put(("end", call.code()))
        except grpc.RpcError as e:
            replies.put(("error", e.code(), e.details()))

    threading.Thread(target=reader, daemon=True).start()
    try:
        for i in range(6):
            outgoing.put(b"m%d" % i)
            t0 = time.monotonic()
            got = get_within(replies, 5, f"reply to message {i}")
            assert got == b"re:m%d" % i, got
            assert time.monotonic() - t0 < 2
            # the server has seen exactly the messages sent so far
            assert len(rig.server.record("bidi").messages) == i + 1
        outgoing.put(None)
        assert get_within(replies, 5, "end of the call") == ("end", grpc.StatusCode.OK)
    finally:
        outgoing.put(None)
        call.cancel()
    assert rig.server.record("bidi").completed_normally


# ------------------------------------------------- deadlines, cancellation

def test_deadline_exceeded_reaches_both_ends(rig):
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as ei:
        rig.unary()(b"wait", metadata=[("x-tag", "deadline"), ("x-mode", "slow")], timeout=0.5)
    elapsed = time.monotonic() - t0
    assert ei.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, ei.value
    assert elapsed < 1.5, f"DEADLINE_EXCEEDED after {elapsed:.2f}s for a 0.5 s deadline"
    rec = rig.server.record("deadline")
    assert rec.time_remaining is not None and 0 < rec.time_remaining < 0.6
    assert rec.cancel_seen.wait(3), "the server never saw the call end"
    assert rec.cancel_seen_at - rec.started < 2.5
    assert rec.terminated.wait(3), "the server's add_callback never fired"
    assert not rec.completed_normally


def test_client_cancel_reaches_the_server(rig):
    """No deadline: only the client's cancellation, relayed by the proxy
    (RST_STREAM upstream), can end the server's endless stream."""
    call = rig.channel.unary_stream("/t.S/SS")(b"", metadata=[("x-tag", "cancel"),
                                                             ("x-mode", "forever")])
    t0 = time.monotonic()
    got = [next(call) for _ in range(3)]
    assert got == [b"tick-0", b"tick-1", b"tick-2"]
    assert time.monotonic() - t0 < 3, "the stream's first messages were held back"
    rec = rig.server.record("cancel")
    assert not rec.cancel_seen.is_set()
    call.cancel()
    cancelled_at = time.monotonic()
    assert rec.cancel_seen.wait(3), "the server never saw the cancellation"
    assert rec.cancel_seen_at - cancelled_at < 2
    assert rec.terminated.wait(3), "the server's add_callback never fired"
    sent = rec.sent
    time.sleep(0.3)
    assert rec.sent == sent, "the server kept producing after the cancellation"
    # the channel still works
    assert rig.unary()(b"after", metadata=[("x-tag", "after-cancel")], timeout=10) == b"echo:after"


def test_server_abort_mid_stream_is_an_error(rig):
    call = rig.channel.unary_stream("/t.S/SS")(b"", metadata=[("x-tag", "abort"),
                                                             ("x-mode", "abort")], timeout=10)
    got = []
    with pytest.raises(grpc.RpcError) as ei:
        for m in call:
            got.append(m)
    assert got == [b"part-0", b"part-1"]
    assert ei.value.code() == grpc.StatusCode.ABORTED, ei.value
    assert ei.value.details() == "boom mid-stream"


@pytest.mark.parametrize("client,upstream", COMBOS, ids=COMBO_IDS)
def test_upstream_reset_mid_stream_is_an_error(pki, start_proxy, client, upstream):
    """A (fake) gRPC upstream sends two messages, then RST_STREAM instead of
    trailers: the client must see an error at once, not a clean end."""
    ctx = h2_tls_context(*pki["up_files"]) if upstream == "tls" else None
    be = H2Backend(handler=grpc_reset_handler, tls_context=ctx)
    p = start_proxy(proxy_config(pki, be.port, upstream == "tls"),
                    env={"SSL_CERT_FILE": pki["up_ca"]} if upstream == "tls" else None)
    ch = channel_to(p, client, pki)
    got = []
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as ei:
        for m in ch.unary_stream("/t.S/SS")(b"x", timeout=10):
            got.append(m)
    elapsed = time.monotonic() - t0
    assert got == [b"first", b"second"]
    assert ei.value.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE,
                               grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN), ei.value
    assert elapsed < 3, f"the reset took {elapsed:.1f}s to reach the client"
    req = be.requests[0]
    assert req.header("content-type") == "application/grpc"
    assert req.header(":path") == "/t.S/SS"
    assert req.values("te") == ["trailers"]
    ch.close()
    be.stop()


# ---------------------------------------------------------------- options

@pytest.mark.parametrize("upstream", ["h2c", "tls"])
def test_grpc_ignores_force_http11_upstream(pki, start_proxy, upstream):
    """SPEC 4.9 step 14: gRPC goes over HTTP/2 whatever the force options."""
    r = start_rig(pki, start_proxy, "h2c", upstream, options='["force_http11_upstream"]')
    try:
        resp = r.unary()(b"forced", metadata=[("x-tag", "forced")], timeout=10)
        assert resp == b"echo:forced"
    finally:
        r.channel.close()
        r.server.stop()
