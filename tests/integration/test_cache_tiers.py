"""The two tiers of SPEC 14: bodies in memory, larger ones in verified
files, the size cap, LRU eviction, storing while streaming, and files that
are damaged, removed or cannot be written."""
import http.client
import os
import re
import subprocess
import threading
import time

import pytest

import h2frames as h2f
from backends import raw_request
from cache_backend import CacheOrigin
from test_cache_hits import config, get

NAME = re.compile(r"^[A-Za-z0-9_-]{43}-\d+-\d+-\d+$")


@pytest.fixture
def origin():
    o = CacheOrigin()
    yield o
    o.stop()


def tiers(mem=100, each=1 << 20, entries=100):
    return (f"max_cache_each_size = {each}\nmax_cache_each_size_on_memory = {mem}\n"
            f"max_cache_entry = {entries}")


def files(tmp_path, want=None, other_than=None):
    """The cache directory's names, once no ".tmp" is left and, with want,
    that many are there, and with other_than, they differ from that list
    (an entry is committed right after the client got its last byte)."""
    deadline = time.monotonic() + 3
    while True:
        names = sorted(os.listdir(tmp_path / "cache"))
        settled = not any(n.endswith(".tmp") for n in names)
        if (settled and want in (None, len(names)) and names != other_than) or \
                time.monotonic() > deadline:
            return names
        time.sleep(0.02)


def test_small_bodies_stay_in_memory_larger_go_to_files(origin, start_proxy, tmp_path):
    origin.set("/small", body=b"s" * 100)
    origin.set("/large", body=b"l" * 101)
    p = start_proxy(config(origin, tmp_path, cache=tiers()))
    assert files(tmp_path) == []
    for _ in range(2):
        assert get(p, "/small")[1] == b"s" * 100
    assert files(tmp_path) == []
    for _ in range(2):
        assert get(p, "/large")[1] == b"l" * 101
    names = files(tmp_path, 1)
    assert len(names) == 1 and NAME.match(names[0]), names
    assert (tmp_path / "cache" / names[0]).read_bytes() == b"l" * 101
    assert origin.count("/small") == origin.count("/large") == 1


def test_zero_on_memory_puts_every_body_in_a_file(origin, start_proxy, tmp_path):
    origin.set("/one", body=b"1")
    p = start_proxy(config(origin, tmp_path, cache=tiers(mem=0)))
    get(p, "/one")
    assert get(p, "/one")[1] == b"1" and len(files(tmp_path, 1)) == 1
    assert origin.count("/one") == 1


def test_chunked_body_of_unknown_length_is_stored(origin, start_proxy, tmp_path):
    body = bytes(range(256)) * 1000
    origin.set("/chunked", body=body, chunked=True, step=7000)
    p = start_proxy(config(origin, tmp_path, cache=tiers()))
    assert get(p, "/chunked")[1] == body
    r, got = get(p, "/chunked")
    assert got == body and r.getheader("content-length") == str(len(body))
    assert origin.count("/chunked") == 1 and len(files(tmp_path, 1)) == 1


def test_bodies_over_the_cap_are_forwarded_not_stored(origin, start_proxy, tmp_path):
    origin.set("/cl", body=b"c" * 2000)
    origin.set("/ch", body=b"h" * 2000, chunked=True, step=300)
    p = start_proxy(config(origin, tmp_path, cache=tiers(mem=100, each=1999)))
    for path, byte in (("/cl", b"c"), ("/ch", b"h")):
        assert get(p, path)[1] == byte * 2000
        assert get(p, path)[1] == byte * 2000
        assert origin.count(path) == 2
    assert files(tmp_path) == []


def test_corrupt_file_is_dropped_and_refetched(origin, start_proxy, tmp_path):
    p = start_proxy(config(origin, tmp_path, cache=tiers(mem=0)))
    assert get(p, "/f")[1] == b"/f #1"
    (name,) = files(tmp_path, 1)
    (tmp_path / "cache" / name).write_bytes(b"/f #X")  # same size, other bytes
    r, body = get(p, "/f")
    assert r.status == 200 and body == b"/f #2"
    assert name not in files(tmp_path)
    p.wait_log(r"WARN Cache: .* does not match its digest")
    assert get(p, "/f")[1] == b"/f #2" and origin.count("/f") == 2


def test_truncated_or_removed_file_goes_upstream(origin, start_proxy, tmp_path):
    p = start_proxy(config(origin, tmp_path, cache=tiers(mem=0)))
    get(p, "/t")
    (name,) = files(tmp_path, 1)
    (tmp_path / "cache" / name).write_bytes(b"/t")
    assert get(p, "/t")[1] == b"/t #2"
    (name,) = files(tmp_path, 1)
    os.unlink(tmp_path / "cache" / name)
    assert get(p, "/t")[1] == b"/t #3"
    assert get(p, "/t")[1] == b"/t #3" and origin.count("/t") == 3


def test_lru_evicts_least_recently_used_and_its_file(origin, start_proxy, tmp_path):
    p = start_proxy(config(origin, tmp_path, cache=tiers(mem=0, entries=2)))
    get(p, "/a")
    get(p, "/b")
    assert len(files(tmp_path, 2)) == 2
    get(p, "/a")  # hit: /a is now the most recent
    get(p, "/c")  # evicts /b
    assert len(files(tmp_path, 2)) == 2
    assert get(p, "/a")[1] == b"/a #1"
    assert get(p, "/c")[1] == b"/c #1"
    before = files(tmp_path, 2)
    assert get(p, "/b")[1] == b"/b #2"  # evicted; now evicts /a
    files(tmp_path, 2, other_than=before)  # committed right after the client got the body
    assert get(p, "/a")[1] == b"/a #2"
    assert len(files(tmp_path, 2)) == 2


def test_upstream_body_error_reaches_the_client_and_is_not_stored(origin, start_proxy, tmp_path):
    origin.set("/cut", body=b"z" * 5000, chunked=True, step=1000, truncate=True)
    p = start_proxy(config(origin, tmp_path, cache=tiers()))
    for _ in range(2):
        data = raw_request(p.port, b"GET /cut HTTP/1.1\r\nHost: app.test\r\n\r\n")
        assert b"transfer-encoding: chunked" in data.lower()
        assert not data.endswith(b"0\r\n\r\n"), "the client must see the body cut"
    assert origin.count("/cut") == 2
    assert [n for n in files(tmp_path) if not n.endswith(".tmp")] == []
    assert [n for n in files(tmp_path) if n.endswith(".tmp")] == []


def test_big_body_streams_to_a_slow_client_while_stored(origin, start_proxy, tmp_path):
    body = os.urandom(4 << 20)
    origin.set("/big", body=body, chunked=True, step=65536, pace=0.01)
    p = start_proxy(config(origin, tmp_path, cache=tiers(mem=1000, each=8 << 20)))
    c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
    c.request("GET", "/big", headers={"Host": "app.test"})
    r = c.getresponse()
    first = r.read(1000)
    first_at = time.monotonic()
    assert "/big" not in origin.done_at, "the first bytes do not wait for the whole body"
    got = [first]
    while True:
        part = r.read(65536)
        if not part:
            break
        got.append(part)
        time.sleep(0.01)  # a slow reader
    c.close()
    assert b"".join(got) == body and origin.done_at["/big"] > first_at
    r, again = get(p, "/big")
    assert again == body and origin.count("/big") == 1


def test_write_errors_abort_storing_but_serve_the_client(origin, start_proxy, tmp_path):
    body = b"w" * 300000
    origin.set("/w", body=body)
    p = start_proxy(config(origin, tmp_path, cache=tiers(mem=0)))
    subprocess.run(["prlimit", f"--pid={p.proc.pid}", "--fsize=100000"], check=True)
    for n in (1, 2):
        r, got = get(p, "/w")
        assert r.status == 200 and got == body
        assert origin.count("/w") == n
    p.wait_log(r"WARN Cache: cannot write .*\.tmp")
    assert files(tmp_path) == []


def test_concurrent_hits_of_a_file_entry(origin, start_proxy, tmp_path):
    body = os.urandom(300000)
    origin.set("/shared", body=body)
    p = start_proxy(config(origin, tmp_path, cache=tiers(mem=0)))
    get(p, "/shared")
    results = []

    def fetch():
        results.append(get(p, "/shared")[1] == body)
    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 8 and origin.count("/shared") == 1


def test_overlapping_hits_share_one_verified_read(origin, start_proxy, tmp_path):
    """A file entry read whole (up to 2 MiB) is verified once and shared by
    the hits that overlap it: while a stalled client holds it, the file is
    damaged on disk and another client still gets the verified bytes, with
    nothing read from the file. Once no hit holds it, the next hit reads
    the file again, finds the damage and goes upstream."""
    size = 2 << 20
    body = os.urandom(size)
    origin.set("/s", body=body)
    p = start_proxy(config(origin, tmp_path, cache=tiers(mem=0, each=size)))
    assert get(p, "/s")[1] == body
    (name,) = files(tmp_path, 1)
    # an HTTP/2 client with a 1000-byte stream window it never opens: the
    # proxy cannot finish that hit (loopback TCP would take the whole body)
    stalled = h2f.H2Conn.plain(p.port, settings=((h2f.SETTINGS_INITIAL_WINDOW_SIZE, 1000),))
    stalled.auto_window = False
    sid = stalled.request(path="/s")
    st = stalled.stream(sid)
    stalled.wait(lambda: len(st.body) == 1000, what="the first 1000 bytes")
    assert dict(st.headers)[":status"] == "200"
    (tmp_path / "cache" / name).write_bytes(bytes(b ^ 0xFF for b in body[:4096]) + body[4096:])
    r, again = get(p, "/s")
    assert r.status == 200 and again == body
    assert "does not match its digest" not in p.log()
    stalled.send(h2f.window_update_frame(0, size) + h2f.window_update_frame(sid, size))
    assert stalled.response(sid).body == body
    stalled.close()
    assert origin.count("/s") == 1
    r, fetched = get(p, "/s")
    assert r.status == 200 and fetched == body
    p.wait_log(r"WARN Cache: .* does not match its digest")
    assert origin.count("/s") == 2


def test_file_changed_while_served_is_cut_off(origin, start_proxy, tmp_path):
    size = 32 << 20
    origin.set("/huge", body=b"a" * size)
    p = start_proxy(config(origin, tmp_path, cache=tiers(mem=0, each=size)))
    assert len(get(p, "/huge")[1]) == size
    (name,) = files(tmp_path, 1)
    c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
    c.request("GET", "/huge", headers={"Host": "app.test"})
    r = c.getresponse()  # the head comes after the whole file was checked
    assert r.status == 200 and r.read(1) == b"a"
    with open(tmp_path / "cache" / name, "r+b") as f:  # same size, other bytes, in place
        f.write(b"b" * size)
    with pytest.raises(http.client.IncompleteRead):
        r.read()
    c.close()
    p.wait_log(r"WARN Cache: .* changed while being served; response cut off")
    assert get(p, "/huge")[1] == b"a" * size and origin.count("/huge") == 2
