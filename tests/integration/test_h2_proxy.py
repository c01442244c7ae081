"""HTTP/2 downstream, proxying to HTTP/1.1 upstreams: methods, bodies with and
without content-length, large bodies both ways, many streams on one
connection, status codes, response header policy (SPEC 4.10, 6)."""
import hashlib
import os
import re
import subprocess
import time

import h2frames as hf
from backends import RawBackend, read_head
from h2util import H1Backend, plain_config


def test_get_and_response_headers(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/hello?x=1")
    assert st.status == 200 and st.ended
    info = st.json()
    assert info["method"] == "GET" and info["path"] == "/hello?x=1"
    assert st.header("server") == "rpxy", st.headers
    assert st.all("server") == ["rpxy"]
    assert st.header("x-backend") == "b0"
    assert st.header("content-type") == "application/json"
    assert st.header("date")
    assert int(st.header("content-length")) == len(st.body)
    for k, _ in st.headers:
        assert k == k.lower(), f"upper-case field name {k!r} on h2"
        assert not k.startswith(":") or k == ":status"


def test_head_has_no_body_and_keeps_content_length(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        h = c.response(c.request("HEAD", "/head"))
        assert h.status == 200 and h.ended
        assert bytes(h.body) == b""
        assert int(h.header("content-length")) > 0
        assert backend.requests[-1][0] == "HEAD"
        # the connection goes on normally after a HEAD
        st = c.get("/after-head")
        assert st.status == 200 and st.json()["path"] == "/after-head"


def test_post_with_content_length(start_proxy):
    b = H1Backend()
    p = start_proxy(plain_config(b))
    body = bytes(range(256)) * 3
    with hf.H2Conn.plain(p.port) as c:
        st = c.response(c.request("POST", "/cl", body=body,
                                  headers=[("content-length", str(len(body))),
                                           ("content-type", "application/octet-stream")]))
    assert st.status == 200
    req = b.requests[-1]
    assert req.method == "POST" and req.target == "/cl"
    assert req.body == body
    assert req.values("content-length") == [str(len(body))]
    assert req.values("transfer-encoding") == []
    assert req.values("content-type") == ["application/octet-stream"]
    b.stop()


def test_post_without_content_length_goes_chunked(start_proxy):
    b = H1Backend()
    p = start_proxy(plain_config(b))
    parts = [b"first part;", b"", b"\r\n0\r\n\r\n", bytes(range(256))]
    with hf.H2Conn.plain(p.port) as c:
        sid = c.new_stream()
        c.send_headers(sid, c.request_headers("POST", "/nocl"), end_stream=False)
        for part in parts:
            c.send(hf.data_frame(sid, part))
            time.sleep(0.05)
        c.send(hf.data_frame(sid, b"last", end_stream=True))
        st = c.response(sid)
    assert st.status == 200
    req = b.requests[-1]
    assert req.target == "/nocl"
    assert req.chunked, req.headers
    assert req.values("content-length") == []
    assert req.body == b"".join(parts) + b"last"
    b.stop()


def test_empty_post_reaches_backend(start_proxy):
    b = H1Backend()
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        st = c.response(c.request("POST", "/empty", headers=[("content-length", "0")]))
        assert st.status == 200
        st = c.response(c.request("DELETE", "/del"))
        assert st.status == 200
    assert [(r.method, r.target, r.body) for r in b.requests] == [
        ("POST", "/empty", b""), ("DELETE", "/del", b"")]
    b.stop()


def test_large_upload_5mib_exact(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    big = os.urandom(5 * 1024 * 1024)
    with hf.H2Conn.plain(p.port) as c:
        st = c.response(c.request("PUT", "/upload", body=big,
                                  headers=[("content-length", str(len(big)))]), timeout=30)
        assert st.status == 200
        assert backend.requests[-1][3] == big
        # and once more without content-length (chunked to the upstream)
        st = c.response(c.request("PUT", "/upload2", body=big[:2 * 1024 * 1024]), timeout=30)
        assert st.status == 200
        assert backend.requests[-1][1] == "/upload2"
        assert backend.requests[-1][3] == big[:2 * 1024 * 1024]


def test_large_download_5mib_exact(start_proxy):
    blob = os.urandom(5 * 1024 * 1024)

    def handler(conn):
        while True:
            head = read_head(conn)
            if not head:
                return
            if b" /chunked " in head.split(b"\r\n")[0]:
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                i, step = 0, 1
                while i < len(blob):
                    part = blob[i:i + step * 7919]
                    conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
                    i += len(part)
                    step = step % 13 + 1
                conn.sendall(b"0\r\n\r\n")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(blob) + blob)

    b = RawBackend(handler)
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/length", timeout=30)
        assert st.status == 200 and st.header("content-length") == str(len(blob))
        assert hashlib.sha256(st.body).digest() == hashlib.sha256(blob).digest()
        assert len(st.body) == len(blob)
        st = c.get("/chunked", timeout=30)
        assert st.status == 200
        assert st.header("transfer-encoding") is None
        assert bytes(st.body) == blob
    b.stop()


def test_chunked_response_is_relayed(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/chunked")
    assert st.status == 200
    assert st.json()["path"] == "/chunked"
    assert st.header("transfer-encoding") is None


def test_fifty_concurrent_streams_on_one_connection(start_proxy):
    backend = H1Backend()  # listen backlog 64: fifty upstream connects at once
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        out = b""
        sids = []
        for i in range(50):
            sid = c.new_stream()
            sids.append(sid)
            out += c.headers_frames(sid, c.request_headers("GET", f"/s{i}?sid={sid}"))
        c.send(out)
        sts = c.responses(sids, timeout=20)
    for i, st in enumerate(sts):
        assert st.status == 200, st
        assert st.json()["path"] == f"/s{i}?sid={st.id}"
    assert sorted(backend.paths()) == sorted(f"/s{i}?sid={s}" for i, s in enumerate(sids))
    backend.stop()


def test_streams_are_served_concurrently(start_proxy):
    backend = H1Backend()  # /slow... answered after 0.5 s
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        t0 = time.monotonic()
        sids = [c.request("GET", f"/slow?n={i}") for i in range(10)]
        sts = c.responses(sids, timeout=10)
        elapsed = time.monotonic() - t0
    assert all(st.status == 200 for st in sts), sts
    assert elapsed < 2, f"10 half-second requests on one connection took {elapsed:.1f}s"
    backend.stop()


def test_h2load_many_streams(start_proxy):
    backend = H1Backend()  # listen backlog 64 for the 40 streams in flight
    p = start_proxy(plain_config(backend))
    r = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "10", "-H", ":authority: app.test",
                        f"http://127.0.0.1:{p.port}/load"], capture_output=True, timeout=60)
    out = r.stdout.decode()
    assert re.search(r"requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, "
                     r"0 errored", out), out
    assert re.search(r"status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx", out), out
    assert len(backend.requests) == 2000
    backend.stop()


def test_status_codes_pass_through(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port) as c:
        for code in (201, 202, 204, 301, 400, 403, 404, 418, 500, 502, 503):
            st = c.get(f"/status/{code}")
            assert st.status == code, st
            assert st.header("server") == "rpxy"
            if code == 204:
                assert bytes(st.body) == b""
            else:
                assert st.json()["path"] == f"/status/{code}"


def test_response_hop_by_hop_removed(start_proxy):
    def handler(conn):
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nX-Secret: 1\r\n"
                     b"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: foo\r\n"
                     b"Trailer: x-t\r\nTransfer-Encoding: chunked\r\nServer: nginx\r\n"
                     b"Alt-Svc: h2=\":1\"\r\nX-Kept: yes\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"
                     b"2\r\nok\r\n0\r\n\r\n")

    b = RawBackend(handler)
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/")
    assert st.status == 200 and bytes(st.body) == b"ok"
    names = [k for k, _ in st.headers]
    for bad in ("connection", "x-secret", "keep-alive", "proxy-connection", "upgrade", "trailer",
                "transfer-encoding", "alt-svc"):
        assert bad not in names, st.headers
    assert st.all("server") == ["rpxy"]
    assert st.header("x-kept") == "yes"
    assert st.all("set-cookie") == ["a=1", "b=2"]
    b.stop()


def test_upstream_down_is_502_on_its_stream_only(backend, start_proxy):
    from conftest import free_port
    dead = free_port()
    p = start_proxy(plain_config(backend, tail=f"""
[apps.dead]
server_name = "dead.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{dead}" }}] }}]
"""))
    with hf.H2Conn.plain(p.port) as c:
        st = c.get("/x", authority="dead.test")
        assert st.status == 502 and bytes(st.body) == b""
        assert st.header("server") is None
        assert c.get("/alive").status == 200


def test_padded_frames_and_priority(start_proxy):
    b = H1Backend()
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        sid = c.new_stream()
        block = c.encode(c.request_headers("POST", "/padded", headers=[("content-length", "11")]))
        # HEADERS with padding and a priority block, a PRIORITY frame, padded DATA
        payload = bytes([7]) + (0).to_bytes(4, "big") + bytes([15]) + block + b"\0" * 7
        c.send(hf.frame(hf.HEADERS, hf.PADDED | hf.PRIORITY_FLAG | hf.END_HEADERS, sid, payload))
        c.send(hf.frame(hf.PRIORITY, 0, sid, (0).to_bytes(4, "big") + bytes([200])))
        c.send(hf.frame(hf.DATA, hf.PADDED, sid, bytes([5]) + b"hello" + b"\0" * 5))
        c.send(hf.frame(hf.DATA, hf.PADDED | hf.END_STREAM, sid, bytes([0]) + b" world"))
        st = c.response(sid)
        assert st.status == 200
    assert b.requests[0].body == b"hello world"
    assert b.requests[0].values("content-length") == ["11"]
    b.stop()


def test_client_flow_control_is_respected(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    with hf.H2Conn.plain(p.port, settings=[(hf.SETTINGS_INITIAL_WINDOW_SIZE, 1000)]) as c:
        c.wait(lambda: c.settings_acks >= 1, 3, what="SETTINGS ACK")
        c.auto_window = False
        sid = c.request("GET", "/big?n=100000")
        st = c.stream(sid)
        c.wait(lambda: len(st.body) >= 1000, 5, what="the first 1000 bytes")
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                c.read_frame(deadline - time.monotonic())
            except OSError:
                pass
        assert len(st.body) == 1000, "DATA beyond the stream's flow-control window"
        assert not st.done
        c.send(hf.window_update_frame(sid, 200000) + hf.window_update_frame(0, 200000))
        c.auto_window = True
        c.response(sid, timeout=10)
        assert st.status == 200 and bytes(st.body) == b"x" * 100000


def test_client_cancels_a_stream_in_flight(start_proxy):
    b = H1Backend()  # /slow... answered after 0.5 s
    p = start_proxy(plain_config(b))
    with hf.H2Conn.plain(p.port) as c:
        sid = c.request("GET", "/slow-cancelled")
        time.sleep(0.1)
        c.send(hf.rst_frame(sid, hf.CANCEL))
        post = c.new_stream()
        c.send_headers(post, c.request_headers("POST", "/upload-cancelled"), end_stream=False)
        c.send(hf.data_frame(post, b"partial"))
        time.sleep(0.1)
        c.send(hf.rst_frame(post, hf.CANCEL))
        st = c.get("/after")
        assert st.status == 200
        time.sleep(0.7)  # the cancelled slow answer arrives at the proxy now
        assert c.get("/after2").status == 200
        assert not c.goaways
    assert "/upload-cancelled" not in b.paths()
    b.stop()


def test_tls_streams_and_bodies(backend, start_proxy, tmp_path):
    from h2util import make_pki, tls_config
    pki = make_pki(tmp_path)
    p = start_proxy(tls_config(pki, backend))
    big = os.urandom(2 * 1024 * 1024)
    with hf.H2Conn.tls(p.tls_port, "a.test") as c:
        sids = [c.request("GET", f"/t{i}", authority="a.test", scheme="https") for i in range(20)]
        up = c.request("POST", "/up", authority="a.test", scheme="https", body=big,
                       headers=[("content-length", str(len(big)))])
        down = c.request("GET", "/big?n=3000000", authority="a.test", scheme="https")
        sts = c.responses(sids + [up, down], timeout=30)
    for i, st in enumerate(sts[:20]):
        assert st.status == 200 and st.json()["path"] == f"/t{i}"
    assert sts[20].status == 200
    assert [r[3] for r in backend.requests if r[1] == "/up"] == [big]
    assert sts[21].status == 200 and bytes(sts[21].body) == b"x" * 3000000


def test_reset_uploads_give_their_window_back(start_proxy):
    """Request body bytes that reached the proxy for a stream the client
    then reset were counted against the connection's receive window (1 MiB);
    they must be credited back, or after a few such streams no upload on
    that connection could move."""
    b = H1Backend()
    p = start_proxy(plain_config(b))
    chunk = b"x" * 16000
    with hf.H2Conn.plain(p.port) as c:
        assert c.get("/warm").status == 200
        for _ in range(24):  # 24 x 64,000 bytes: more than the 1 MiB window
            sid = c.new_stream()
            out = c.headers_frames(sid, c.request_headers("POST", "/abandoned"), end_stream=False)
            for _ in range(4):
                out += hf.data_frame(sid, chunk)
            c.send(out + hf.rst_frame(sid, hf.CANCEL))
            c.send_window -= 4 * len(chunk)
            c.stream(sid).send_window -= 4 * len(chunk)
        body = os.urandom(300_000)
        st = c.response(c.request("POST", "/after", body=body), timeout=10)
        assert st.status == 200
    assert any(r.target == "/after" and r.body == body for r in b.requests)
    b.stop()
