"""HTTP/2 downstream keep-alive (SPEC 11: "ping every 20 s, close if no ack
within 21 s"): while streams are open, a connection that has been silent
for 20 s gets a PING; one still silent 21 s later is closed, one that
answers stays. Real time: this test takes about 42 s."""
import time

import h2frames as hf
from h2util import plain_config


def pings(c):
    return [f for f in c.frames if f.type == hf.PING and not f.flags & hf.ACK]


def test_silent_connection_is_pinged_then_closed_an_answering_one_stays(backend, start_proxy):
    p = start_proxy(plain_config(backend, extra="worker_threads = 1"))
    quiet = hf.H2Conn.plain(p.port)
    quiet.auto_ping = False
    answering = hf.H2Conn.plain(p.port)
    t0 = time.monotonic()
    quiet.request("GET", "/slow?s=44")
    answering.request("GET", "/slow?s=44")

    quiet.wait(lambda: pings(quiet), timeout=25, what="a keep-alive PING")
    t_ping = time.monotonic() - t0
    assert 19 <= t_ping <= 23, t_ping
    answering.wait(lambda: pings(answering), timeout=5, what="a keep-alive PING")
    acks_before = len([f for f in quiet.frames if f.type == hf.PING])

    kind, _ = quiet.wait_end(timeout=26)
    t_close = time.monotonic() - t0
    assert kind == "closed", kind
    assert 40 <= t_close <= 45, t_close
    assert len([f for f in quiet.frames if f.type == hf.PING]) == acks_before  # one PING only
    # the answering connection is still served (and answers the next PING)
    st = answering.get("/after", timeout=5)
    assert st.status == 200, st
    answering.close()
