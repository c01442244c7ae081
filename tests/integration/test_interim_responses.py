"""Interim responses of the upstream (1xx other than 100 and 101, such as
103 Early Hints) reach the client before the final one, over HTTP/1.1 and
HTTP/2; HTTP/1.0 clients never get a 1xx (RFC 9110 15.2)."""
import h2frames as hf
from backends import RawBackend, raw_request, read_head
from h2util import plain_config


def early_hints(conn):
    read_head(conn)
    conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n"
                 b"Connection: keep-alive\r\n\r\n"
                 b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def test_103_over_http11_and_http2(start_proxy):
    b = RawBackend(early_hints)
    p = start_proxy(plain_config(b))
    out = raw_request(p.port, b"GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    # the hop-by-hop Connection field of the 103 is not passed on
    assert out.startswith(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                          b"HTTP/1.1 200 OK\r\n"), out
    assert out.endswith(b"\r\n\r\nok")
    # HTTP/1.0: no interim response, the final one only
    out = raw_request(p.port, b"GET / HTTP/1.0\r\nHost: app.test\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK\r\n") and out.endswith(b"ok"), out
    # HTTP/2: a HEADERS frame with :status 103, then the response
    with hf.H2Conn.plain(p.port) as c:
        sid = c.request("GET", "/")
        st = c.response(sid)
        assert st.status == 200 and st.body == b"ok"
        heads = [f for f in c.frames if f.type == 1 and f.stream_id == sid]
        assert len(heads) == 2, heads
        assert not heads[0].flags & 0x1, "the interim HEADERS must not end the stream"
    b.stop()
