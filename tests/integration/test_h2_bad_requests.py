"""HTTP/2 downstream, malformed requests (RFC 9113 8.1.1, 8.2, 8.3): each is
answered 400 or its stream reset with PROTOCOL_ERROR, never forwarded to
the upstream, and the connection goes on serving other streams."""
import time

import pytest

import h2frames as hf
from h2util import H1Backend, plain_config


def base(path="/bad"):
    return [(":method", "GET"), (":scheme", "http"), (":authority", "app.test"), (":path", path)]


def without(name):
    return [(k, v) for k, v in base() if k != name]


HEADER_CASES = {
    "uppercase-name": base() + [("X-Upper", "1")],
    "uppercase-pseudo": [(":method", "GET"), (":scheme", "http"), (":authority", "app.test"),
                         (":PATH", "/bad")],
    "connection": base() + [("connection", "keep-alive")],
    "keep-alive": base() + [("keep-alive", "timeout=5")],
    "transfer-encoding": base() + [("transfer-encoding", "chunked")],
    "upgrade": base() + [("upgrade", "websocket")],
    "proxy-connection": base() + [("proxy-connection", "keep-alive")],
    "te-gzip": base() + [("te", "gzip")],
    "te-trailers-and-gzip": base() + [("te", "trailers, gzip")],
    "no-method": without(":method"),
    "no-scheme": without(":scheme"),
    "no-path": without(":path"),
    "empty-path": base(""),
    "pseudo-after-regular": [(":method", "GET"), (":scheme", "http"), ("x-a", "1"),
                             (":authority", "app.test"), (":path", "/bad")],
    "unknown-pseudo": base() + [(":foo", "bar")],
    "status-in-request": base() + [(":status", "200")],
    "duplicate-path": base() + [(":path", "/bad-too")],
    "duplicate-method": base() + [(":method", "POST")],
    "value-with-crlf": base() + [("x-a", "1\r\nx-injected: yes")],
    "value-with-lf": base() + [("x-a", "1\nx-injected: yes")],
    "value-with-nul": base() + [("x-a", "a\x00b")],
    "name-with-space": base() + [("x a", "1")],
    "name-with-colon": base() + [("x:a", "1")],
    "value-leading-space": base() + [("x-a", " 1")],
    "value-trailing-tab": base() + [("x-a", "1\t")],
}


def check_refused(st):
    assert (st.headers is None and st.reset == hf.PROTOCOL_ERROR) or st.status == 400, \
        f"neither RST_STREAM(PROTOCOL_ERROR) nor 400: {st}"
    if st.status == 400:
        assert st.ended or st.reset is not None


def then_works(c, b):
    """Another stream on the same connection is served, and the upstream saw
    that one only."""
    st = c.get("/after")
    assert st.status == 200, st
    time.sleep(0.1)
    assert b.paths() == ["/after"], b.requests
    assert b"/bad" not in b.all_bytes() and b"x-injected" not in b.all_bytes()


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_malformed_header_block(case, start_proxy):
    b = H1Backend()
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        sid = c.new_stream()
        c.send_headers(sid, HEADER_CASES[case])
        check_refused(c.response(sid))
        assert not c.goaways, c.goaways
        then_works(c, b)
    b.stop()


def test_malformed_trailers(start_proxy):
    # trailers must not carry pseudo-header fields (RFC 9113 8.1)
    b = H1Backend()
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        # no content-length: the upstream body is chunked and can only be
        # complete with the last chunk, which must never be sent (with a
        # content-length the proxy may have forwarded the whole body before
        # the trailers arrive: bodies stream)
        sid = c.new_stream()
        c.send_headers(sid, base("/bad"), end_stream=False)
        c.send(hf.data_frame(sid, b"abc"))
        c.send_headers(sid, [(":path", "/bad-trailer")], end_stream=True)
        check_refused(c.response(sid))
        st = c.get("/after")
        assert st.status == 200
    assert not any(r.target == "/bad" for r in b.requests)
    b.stop()


# (content-length field values, DATA payloads): the declared length disagrees
# with the DATA received, or cannot be a length at all
LENGTH_CASES = {
    "shorter-data": (["10"], [b"12345"]),
    "longer-data": (["5"], [b"1234567890"]),
    "longer-over-frames": (["6"], [b"123", b"456", b"7"]),
    "declared-no-data": (["5"], []),
    "not-a-number": (["abc"], [b"abc"]),
    "negative": (["-1"], [b""]),
    "two-values-differ": (["3", "4"], [b"abc"]),
    "list-value": (["3, 4"], [b"abc"]),
}


@pytest.mark.parametrize("case", sorted(LENGTH_CASES))
def test_content_length_disagrees_with_data(case, start_proxy):
    b = H1Backend()
    p = start_proxy(plain_config(b))
    lengths, frames = LENGTH_CASES[case]
    with hf.H2Conn.plain(p.port) as c:
        sid = c.new_stream()
        headers = [(":method", "POST"), (":scheme", "http"), (":authority", "app.test"),
                   (":path", "/bad")] + [("content-length", v) for v in lengths]
        out = c.headers_frames(sid, headers, end_stream=not frames)
        for i, data in enumerate(frames):
            out += hf.data_frame(sid, data, end_stream=i == len(frames) - 1)
        c.send(out)  # one write: the proxy sees the whole request at once
        check_refused(c.response(sid))
        assert not c.goaways, c.goaways
        st = c.get("/after")
        assert st.status == 200, st
    time.sleep(0.1)
    # the upstream never got a complete request for it (it may have seen the
    # head of a streamed request that was then aborted)
    assert b.paths() == ["/after"], b.requests
    b.stop()


def test_data_after_end_stream_is_not_forwarded(start_proxy):
    # DATA after END_STREAM: a STREAM_CLOSED error (RFC 9113 5.1); the bytes
    # never reach the upstream, and the proxy keeps serving
    b = H1Backend()
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        sid = c.new_stream()
        c.send(c.headers_frames(sid, base("/ok") + [("content-length", "2")], end_stream=False)
               + hf.data_frame(sid, b"ab", end_stream=True) + hf.data_frame(sid, b"SMUGGLED"))
        try:
            c.wait(lambda: c.stream(sid).done, 3)
        except hf.ConnectionEnded:
            pass
    time.sleep(0.2)
    assert b"SMUGGLED" not in b.all_bytes()
    assert [r.body for r in b.requests] in ([b"ab"], [])
    with hf.H2Conn.plain(p.port) as c:
        assert c.get("/fresh").status == 200
    b.stop()
