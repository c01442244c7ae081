"""Upstream failover (issue 14): a connection that cannot be made costs no
request; it goes to the route's next upstream, whatever the method and
body. Real upstreams killed under load, refused, reset and black-holed."""
import json
import re
import socket
import time

from backends import raw_request
from failover_util import BlackHole, Load, Upstream, dead_port


def config(locations, lb="round_robin", extra="", route_extra=""):
    """Two workers (so passive health is seen across them), short timeouts;
    {port} is filled in by start_proxy."""
    lines = ["listen_port = {port}", 'listen_address_v4 = "127.0.0.1"',
             "upstream_connect_timeout = 2", "upstream_response_timeout = 5",
             "worker_threads = 2", extra, "[apps.app]", 'server_name = "app.test"',
             "[[apps.app.reverse_proxy]]", f'load_balance = "{lb}"', route_extra]
    for where in locations:
        lines += ["[[apps.app.reverse_proxy.upstream]]", f'location = "{where}"']
    return "\n".join(lines) + "\n"


def loc(u):
    return f"127.0.0.1:{u.port}"


def request(p, method="GET", body=b"", headers=""):
    head = (f"{method} / HTTP/1.1\r\nHost: app.test\r\n{headers}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    out = raw_request(p.port, head + body, timeout=10)
    head, _, rest = out.partition(b"\r\n\r\n")
    status = int(head.split()[1]) if head else 0
    return status, head.decode("latin-1"), rest


def backend_of(rest):
    return json.loads(rest)["backend"]


def run_load(p, seconds, during=None, at=1.0, clients=8):
    load = Load(p.port, clients=clients)
    time.sleep(at)
    if during:
        during()
    time.sleep(seconds - at)
    return load.stop()


def test_kill_one_of_two_under_load(start_proxy):
    a, b = Upstream("a"), Upstream("b")
    p = start_proxy(config([loc(a), loc(b)]))
    load = run_load(p, 3.0, during=a.kill)
    assert load.total() > 200, load.statuses
    assert load.failed() == 0, (load.statuses, load.errors)
    assert load.backends["a"] > 0 and load.backends["b"] > 0
    p.wait_log(r"WARN Failed to get response from backend: .* \(upstream http://127\.0\.0\.1:"
               rf"{a.port} at 127\.0\.0\.1:{a.port}\); trying http://127\.0\.0\.1:{b.port}")
    # with two workers failing at once the count may read 2
    p.wait_log(rf"WARN Upstream http://127\.0\.0\.1:{a.port} is marked down for 10000 ms "
               r"\([12] consecutive connect failures\)")
    b.kill()


def test_kill_two_of_three_under_load(start_proxy):
    a, b, c = Upstream("a"), Upstream("b"), Upstream("c")
    p = start_proxy(config([loc(a), loc(b), loc(c)]))

    def kill_two():
        a.kill()
        c.kill()
    load = run_load(p, 3.0, during=kill_two)
    assert load.total() > 200, load.statuses
    assert load.failed() == 0, (load.statuses, load.errors)
    late = b.served()
    time.sleep(0.2)
    assert request(p)[0] == 200 and b.served() == late + 1, "only b is left"
    b.kill()


def test_post_1mib_to_dead_first_upstream(start_proxy):
    b = Upstream("b")
    dead = dead_port()
    p = start_proxy(config([f"127.0.0.1:{dead}", loc(b)], lb="none"))
    body = bytes(range(256)) * 4096
    status, _, rest = request(p, "POST", body)
    assert status == 200
    assert json.loads(rest) == {"backend": "b", "method": "POST", "body": len(body)}
    # the access line names the upstream that answered
    p.wait_log(rf'POST / HTTP/1\.1 -- 200 OK -- .* "http://127\.0\.0\.1:{b.port}/"$')
    p.wait_log(rf"WARN Failed to get response from backend: connect: Connection refused "
               rf"\(upstream http://127\.0\.0\.1:{dead} at 127\.0\.0\.1:{dead}\)")
    # chunked (no Content-Length) too
    head = b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    out = raw_request(p.port, head + b"5\r\nhello\r\n0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ")
    assert b'"body": 5' in out
    b.kill()


def reset_after_head(conn):
    from failover_util import _reset, read_request
    read_request(conn)
    _reset(conn)


def test_reset_before_answer_get_retried_post_not(start_proxy):
    from backends import RawBackend
    r = RawBackend(reset_after_head)
    b = Upstream("b")
    p = start_proxy(config([loc(r), loc(b)], lb="none"))
    status, _, rest = request(p)
    assert status == 200 and backend_of(rest) == "b"
    assert r.accepted == 1
    before = r.accepted
    status, _, _ = request(p, "POST", b"x" * 1000)
    assert status == 502
    assert r.accepted == before + 1
    assert [m for m, _ in b.requests] == ["GET"], "the POST was never replayed"
    # a GET is sent again once only: with both resetting, 502
    r2 = RawBackend(reset_after_head)
    p2 = start_proxy(config([loc(r), loc(r2)], lb="none"))
    status, _, _ = request(p2)
    assert status == 502
    assert r2.accepted == 1
    r.stop()
    r2.stop()
    b.kill()


def test_black_holed_upstream_under_load(start_proxy):
    hole = BlackHole()
    b = Upstream("b")
    p = start_proxy(config([f"127.0.0.1:{hole.port}", loc(b)]))
    load = run_load(p, 3.0, at=0.1)
    assert load.failed() == 0, (load.statuses, load.errors)
    assert load.total() > 100
    assert load.backends == {"b": load.total()}
    p.wait_log(rf"WARN Failed to get response from backend: connect timeout \(upstream "
               rf"http://127\.0\.0\.1:{hole.port} at 127\.0\.0\.1:{hole.port}\); trying")
    p.wait_log(rf"WARN Upstream http://127\.0\.0\.1:{hole.port} is marked down")
    hole.close()
    b.kill()


def test_sticky_pinned_upstream_unreachable(start_proxy):
    a, b = Upstream("a"), Upstream("b")
    secret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
    p = start_proxy(config([loc(a), loc(b)], lb="sticky",
                           extra=f'sticky_cookie_secret = "{secret}"'))
    status, head, rest = request(p)
    assert status == 200 and backend_of(rest) == "a"
    cookie = re.search(r"rpxy_sticky_token=([^;\r\n]+)", head).group(1)
    status, head, rest = request(p, headers=f"Cookie: rpxy_sticky_token={cookie}\r\n")
    assert backend_of(rest) == "a" and "set-cookie" not in head.lower()
    a.kill()
    status, head, rest = request(p, headers=f"Cookie: rpxy_sticky_token={cookie}\r\n")
    assert status == 200 and backend_of(rest) == "b"
    fresh = re.search(r"rpxy_sticky_token=([^;\r\n]+)", head)
    assert fresh and fresh.group(1) != cookie, "a new cookie pins the new upstream"
    status, head, rest = request(p, headers=f"Cookie: rpxy_sticky_token={fresh.group(1)}\r\n")
    assert backend_of(rest) == "b" and "set-cookie" not in head.lower()
    b.kill()


def test_primary_backup_on_first_failed_connect(start_proxy):
    a, b = Upstream("a"), Upstream("b")
    p = start_proxy(config([loc(a), loc(b)], lb="primary_backup",
                           route_extra="health_check = { type = \"tcp\", interval = 60 }"))
    assert backend_of(request(p)[2]) == "a"
    a.kill()
    t0 = time.monotonic()
    status, _, rest = request(p)
    assert status == 200 and backend_of(rest) == "b"
    assert time.monotonic() - t0 < 1, "no wait for the active check"
    assert backend_of(request(p)[2]) == "b"
    b.kill()


def test_recovery_after_cool_off(start_proxy):
    a, b = Upstream("a"), Upstream("b")
    p = start_proxy(config([loc(a), loc(b)], extra="upstream_fail_timeout = 1"))
    a.kill()
    seen = [backend_of(request(p)[2]) for _ in range(4)]
    assert seen == ["b"] * 4
    p.wait_log(rf"Upstream http://127\.0\.0\.1:{a.port} is marked down for 1000 ms")
    a.start()
    time.sleep(0.5)
    assert [backend_of(request(p)[2]) for _ in range(4)] == ["b"] * 4, "still cooling off"
    time.sleep(0.7)
    seen = {backend_of(request(p)[2]) for _ in range(4)}
    assert seen == {"a", "b"}
    p.wait_log(rf"INFO Upstream http://127\.0\.0\.1:{a.port} is reachable again")
    a.kill()
    b.kill()


def test_failed_probe_restarts_cool_off(start_proxy):
    b = Upstream("b")
    dead = dead_port()
    p = start_proxy(config([f"127.0.0.1:{dead}", loc(b)], lb="none",
                           extra="upstream_fail_timeout = 1"))
    assert backend_of(request(p)[2]) == "b"
    time.sleep(1.1)
    assert backend_of(request(p)[2]) == "b"  # the probe: refused, goes on to b
    warns = len(re.findall(r"connect: Connection refused", p.log()))
    assert [backend_of(request(p)[2]) for _ in range(4)] == ["b"] * 4
    assert len(re.findall(r"connect: Connection refused", p.log())) == warns, "not probed again"
    b.kill()


def test_active_and_passive_health(start_proxy):
    a, b = Upstream("a"), Upstream("b")
    p = start_proxy(config([loc(a), loc(b)],
                           route_extra="health_check = { type = \"tcp\", interval = 2, timeout = 1 }"))
    a.kill()
    assert {backend_of(request(p)[2]) for _ in range(4)} == {"b"}
    p.wait_log(rf"WARN Upstream http://127\.0\.0\.1:{a.port} is marked down until the health "
               r"check reaches it")
    a.start()
    p.wait_log(rf"Upstream http://127\.0\.0\.1:{a.port} is reachable again: no longer marked down",
               timeout=5)
    assert {backend_of(request(p)[2]) for _ in range(4)} == {"a", "b"}
    a.kill()
    b.kill()


def test_all_upstreams_down_is_502_at_once(start_proxy):
    d1, d2 = dead_port(), dead_port()
    p = start_proxy(config([f"127.0.0.1:{d1}", f"127.0.0.1:{d2}"]))
    t0 = time.monotonic()
    assert request(p)[0] == 502
    assert len(re.findall(r"Connection refused", p.log())) <= 3, "each upstream tried once"
    for _ in range(20):
        assert request(p)[0] == 502
    assert time.monotonic() - t0 < 2
    p.wait_log(r"ERROR Failed to get response from backend: every upstream is marked down")
    assert len(re.findall(r"WARN Failed to get response", p.log())) <= 2, "no retry storm"


def test_flapping_upstream(start_proxy):
    a, b = Upstream("a"), Upstream("b")
    p = start_proxy(config([loc(a), loc(b)], extra="upstream_fail_timeout = 1"))
    load = Load(p.port, clients=6)
    end = time.monotonic() + 2.5
    up = True
    while time.monotonic() < end:
        time.sleep(0.1)
        a.kill() if up else a.start()
        up = not up
    load.stop()
    assert load.failed() == 0, (load.statuses, load.errors)
    assert load.backends["b"] > 0
    if not up:
        a.start()
    a.kill()
    b.kill()


def test_slow_connect_everywhere_within_budget(start_proxy):
    h1, h2 = BlackHole(), BlackHole()
    other = Upstream("other")
    p = start_proxy(config([f"127.0.0.1:{h1.port}", f"127.0.0.1:{h2.port}"]) + f"""
[apps.other]
server_name = "other.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{other.port}" }}] }}]
""")
    results = []

    def slow():
        t0 = time.monotonic()
        results.append((request(p)[0], time.monotonic() - t0))
    import threading
    ts = [threading.Thread(target=slow) for _ in range(4)]
    for t in ts:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    for _ in range(10):
        out = raw_request(p.port, b"GET / HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 200 ")
    assert time.monotonic() - t0 < 1, "other clients are not delayed"
    for t in ts:
        t.join()
    for status, took in results:
        assert status == 504
        assert 0.9 < took < 2.6, "within upstream_connect_timeout (2 s) in total"
    h1.close()
    h2.close()
    other.kill()
