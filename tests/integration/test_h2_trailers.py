"""HTTP/2 downstream, trailers (SPEC 4.10 "trailers are relayed"): chunked
trailers from an HTTP/1.1 upstream reach the h2 client as a trailing HEADERS
frame, and an h2 client's trailers reach the upstream as chunked trailers."""
import h2frames as hf
from h2util import H1Backend, plain_config


def trailer_response(req):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
            b"Trailer: grpc-status, grpc-message\r\n\r\n"
            b"6\r\nhello \r\n5\r\nworld\r\n0\r\ngrpc-status: 0\r\ngrpc-message: all good\r\n\r\n")


def test_response_trailers_are_relayed(start_proxy):
    b = H1Backend(respond=trailer_response)
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/with-trailers", headers=[("te", "trailers")])
        assert st.status == 200 and st.ended
        assert bytes(st.body) == b"hello world"
        assert st.trailers is not None, f"no trailing HEADERS frame: {c.frames}"
        assert st.trailers == [("grpc-status", "0"), ("grpc-message", "all good")]
        names = [k for k, _ in st.headers]
        assert "trailer" not in names and "transfer-encoding" not in names
        # the trailers end the stream: END_STREAM on their HEADERS frame, not on DATA
        mine = [f for f in c.frames if f.stream_id == st.id]
        heads = [f for f in mine if f.type == hf.HEADERS]
        assert len(heads) == 2 and heads[1].flags & hf.END_STREAM, mine
        assert not any(f.flags & hf.END_STREAM for f in mine if f.type == hf.DATA), mine
        # the connection is still usable
        st2 = c.get("/next", headers=[("te", "trailers")])
        assert st2.status == 200 and st2.trailers == st.trailers
    assert b.requests[0].values("te") == ["trailers"]
    b.stop()


def test_request_trailers_reach_the_upstream(start_proxy):
    b = H1Backend()
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        sid = c.request("POST", "/upload", headers=[("te", "trailers"), ("content-type", "text/plain")],
                        body=b"payload with trailers",
                        trailers=[("x-checksum", "abc123"), ("x-count", "21")])
        st = c.response(sid)
        assert st.status == 200
        # an ordinary request after it
        assert c.get("/after").status == 200
    req = b.requests[0]
    assert req.target == "/upload"
    assert req.chunked, req.headers
    assert req.body == b"payload with trailers"
    assert req.trailers == [("x-checksum", "abc123"), ("x-count", "21")]
    assert b.requests[1].target == "/after"
    b.stop()


def test_request_trailers_only_headers_and_trailers(start_proxy):
    # HEADERS, then trailers with END_STREAM and no DATA at all
    b = H1Backend()
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        sid = c.new_stream()
        c.send_headers(sid, c.request_headers("POST", "/no-data"), end_stream=False)
        c.send_headers(sid, [("x-only", "trailer")], end_stream=True)
        st = c.response(sid)
        assert st.status == 200
    req = b.requests[0]
    assert req.body == b""
    assert req.trailers == [("x-only", "trailer")]
    b.stop()
