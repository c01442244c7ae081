"""HTTP/2 downstream, graceful shutdown and reload: the h2 connection gets
GOAWAY, the stream in flight finishes, streams opened after the final
GOAWAY are not served."""
import signal
import time

import h2frames as hf
from backends import EchoBackend
from h2util import plain_config

MAX_ID = 0x7FFFFFFF


def wait_final_goaway(c, timeout=3):
    """A GOAWAY whose last-stream-id is not the 2^31-1 of a shutdown notice."""
    c.wait(lambda: any(g.last_stream_id < MAX_ID for g in c.goaways), timeout,
           what="a final GOAWAY")
    return [g for g in c.goaways if g.last_stream_id < MAX_ID][0]


def test_sigterm_drains_h2(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    c = hf.H2Conn.plain(p.port)
    slow = c.request("GET", "/slow?s=2")
    time.sleep(0.4)
    assert [r[1] for r in backend.requests] == ["/slow?s=2"], "the slow request is in the backend"
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    c.wait(lambda: c.goaways, 1.5, what="GOAWAY")
    assert c.goaways[0].error_code == hf.NO_ERROR
    final = wait_final_goaway(c)
    assert final.error_code == hf.NO_ERROR
    assert final.last_stream_id >= slow, "the stream in flight is covered by the GOAWAY"
    assert not c.stream(slow).done
    # a stream opened now is above last-stream-id: never served
    late = c.request("GET", "/after-goaway")
    st = c.response(slow, timeout=5)
    assert st.status == 200 and st.json()["path"] == "/slow?s=2"
    late_st = c.stream(late)
    assert late_st.headers is None, late_st
    assert late_st.reset in (None, hf.REFUSED_STREAM), late_st
    assert c.drain_until_closed(3), "the connection is closed once its streams are done"
    assert p.proc.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 4
    assert "/after-goaway" not in [r[1] for r in backend.requests]
    c.close()


def test_sigterm_idle_h2_connection_gets_goaway_and_close(backend, start_proxy):
    p = start_proxy(plain_config(backend))
    c = hf.H2Conn.plain(p.port)
    assert c.get("/first").status == 200
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    c.wait(lambda: c.goaways, 2, what="GOAWAY")
    assert c.drain_until_closed(3)
    assert time.monotonic() - t0 < 3
    assert p.proc.wait(timeout=5) == 0
    c.close()


def test_sighup_reload_sends_goaway_in_flight_finishes(start_proxy):
    a, b = EchoBackend("a"), EchoBackend("b")
    p = start_proxy(plain_config(a))
    c = hf.H2Conn.plain(p.port)
    slow = c.request("GET", "/slow?s=2")
    time.sleep(0.4)
    p.path.write_text(p.path.read_text().replace(str(a.port), str(b.port)))
    p.signal(signal.SIGHUP)
    p.wait_log(r"INFO Configuration updated\.", timeout=3)
    c.wait(lambda: c.goaways, 2, what="GOAWAY after reload")
    final = wait_final_goaway(c)
    assert final.error_code == hf.NO_ERROR and final.last_stream_id >= slow
    late = c.request("GET", "/after-goaway")
    st = c.response(slow, timeout=5)
    assert st.status == 200
    assert st.json()["backend"] == "a", "the stream in flight finishes on its snapshot"
    assert c.stream(late).headers is None
    assert c.drain_until_closed(3)
    c.close()
    # new connections use the new config
    with hf.H2Conn.plain(p.port) as c2:
        st = c2.get("/new")
        assert st.status == 200 and st.json()["backend"] == "b"
    assert p.proc.poll() is None
    assert "/after-goaway" not in [r[1] for r in a.requests + b.requests]
    assert [r[1] for r in a.requests] == ["/slow?s=2"]
    a.stop()
    b.stop()
