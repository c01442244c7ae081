"""The storability and freshness rules of SPEC 14, one path per rule: each
path is fetched twice and the origin's request count tells whether the
second answer came from the cache."""
import email.utils
import http.client
import time

import pytest

from cache_backend import CacheOrigin
from test_cache_hits import config, get


@pytest.fixture
def origin():
    o = CacheOrigin()
    yield o
    o.stop()


def date(offset):
    return email.utils.formatdate(time.time() + offset, usegmt=True)


CC = "Cache-Control"


def rules():
    """(path, status, response fields, request fields, served from cache the
    second time); dates relative to now, so built when the test runs."""
    return [
        ("/max-age", 200, [(CC, "max-age=60")], {}, True),
        ("/nothing", 200, [], {}, False),  # stored, lifetime 0: never served
        ("/heuristic", 200, [("Date", date(0)), ("Last-Modified", date(-864000))], {}, True),
        ("/heuristic-future", 200, [("Last-Modified", date(3600))], {}, False),
        ("/expires", 200, [("Date", date(0)), ("Expires", date(60))], {}, True),
        ("/expires-past", 200, [("Date", date(0)), ("Expires", date(-60))], {}, False),
        ("/expires-zero", 200, [("Expires", "0")], {}, False),
        ("/expires-two", 200, [("Expires", date(60)), ("Expires", date(120))], {}, False),
        ("/bad-date", 200, [("Date", "yesterday"), ("Expires", date(60))], {}, True),
        ("/s-maxage", 200, [(CC, "max-age=0, s-maxage=60")], {}, True),
        ("/max-age-0", 200, [(CC, "max-age=0")], {}, False),
        ("/max-age-quoted", 200, [(CC, 'max-age="60"')], {}, True),
        ("/max-age-junk", 200, [(CC, "max-age=6x0")], {}, False),
        ("/max-age-twice", 200, [(CC, "max-age=60, max-age=0")], {}, False),
        ("/max-age-twice-same", 200, [(CC, "max-age=60"), (CC, "max-age=60")], {}, True),
        ("/cc-garbage", 200, [(CC, ',,;;="=",, max-age=60 ,"')], {}, True),
        ("/no-store", 200, [(CC, "max-age=60, no-store")], {}, False),
        ("/private", 200, [(CC, "private, max-age=60")], {}, False),
        ("/no-cache", 200, [(CC, "no-cache, max-age=60")], {}, False),
        ("/no-cache-field", 200, [(CC, 'no-cache="Set-Cookie", max-age=60')], {}, False),
        ("/proxy-revalidate", 200, [(CC, "proxy-revalidate, max-age=60")], {}, False),
        ("/vary-star", 200, [(CC, "max-age=60"), ("Vary", "*")], {}, False),
        ("/set-cookie", 200, [(CC, "max-age=60"), ("Set-Cookie", "a=1")], {}, False),
        ("/set-cookie-public", 200, [(CC, "public, max-age=60"), ("Set-Cookie", "a=1")], {}, True),
        ("/immutable", 200, [(CC, "immutable")], {}, True),
        ("/pragma", 200, [("Pragma", "no-cache"), ("Expires", date(60))], {}, False),
        ("/pragma-with-cc", 200, [("Pragma", "no-cache"), (CC, "max-age=60")], {}, True),
        ("/age-old", 200, [(CC, "max-age=60"), ("Age", "100")], {}, False),
        ("/age-junk", 200, [(CC, "max-age=60"), ("Age", "-5")], {}, True),
        ("/age-huge", 200, [(CC, "max-age=60"), ("Age", "99999999999999999999999")], {}, False),
        ("/status-302", 302, [("Location", "/x")], {}, False),
        ("/status-302-max-age", 302, [("Location", "/x"), (CC, "max-age=60")], {}, True),
        ("/status-404", 404, [(CC, "max-age=60")], {}, True),
        ("/status-410", 410, [("Date", date(0)), ("Last-Modified", date(-864000))], {}, True),
        ("/status-500", 500, [(CC, "max-age=60")], {}, False),
        ("/status-206", 206, [(CC, "max-age=60")], {}, False),
        ("/status-204", 204, [(CC, "max-age=60")], {}, True),
        ("/public-only", 200, [(CC, "public")], {}, False),  # storable, lifetime 0
        # request side
        ("/auth", 200, [(CC, "max-age=60")], {"Authorization": "Bearer x"}, False),
        ("/auth-public", 200, [(CC, "public, max-age=60")], {"Authorization": "Bearer x"}, True),
        ("/auth-s-maxage", 200, [(CC, "s-maxage=60")], {"Authorization": "Bearer x"}, True),
        ("/auth-must-reval", 200, [(CC, "must-revalidate, max-age=60")],
         {"Authorization": "Bearer x"}, True),
        ("/req-no-store", 200, [(CC, "max-age=60")], {CC: "no-store"}, False),
        ("/req-no-cache", 200, [(CC, "max-age=60")], {CC: "no-cache"}, False),
        ("/req-pragma", 200, [(CC, "max-age=60")], {"Pragma": "no-cache"}, False),
        ("/req-max-age-0", 200, [(CC, "max-age=60")], {CC: "max-age=0"}, False),
        ("/req-max-age-big", 200, [(CC, "max-age=60")], {CC: "max-age=600"}, True),
        ("/req-min-fresh", 200, [(CC, "max-age=60")], {CC: "min-fresh=120"}, False),
        ("/req-min-fresh-ok", 200, [(CC, "max-age=60")], {CC: "min-fresh=10"}, True),
        ("/req-max-stale", 200, [(CC, "max-age=60"), ("Age", "100")], {CC: "max-stale=100"}, True),
        ("/req-max-stale-short", 200, [(CC, "max-age=60"), ("Age", "100")], {CC: "max-stale=10"},
         False),
        ("/req-max-stale-any", 200, [(CC, "max-age=60"), ("Age", "100")], {CC: "max-stale"}, True),
        ("/req-max-stale-mr", 200, [(CC, "max-age=60, must-revalidate"), ("Age", "100")],
         {CC: "max-stale"}, False),
    ]


def test_response_and_request_rules(origin, start_proxy, tmp_path):
    table = rules()
    for path, status, fields, _, _ in table:
        origin.set(path, status=status, fields=fields)
    p = start_proxy(config(origin, tmp_path))
    wrong = []
    for path, status, _, req, cached in table:
        r1, b1 = get(p, path, req)
        r2, b2 = get(p, path, req)
        if r1.status != status or r2.status != status:
            wrong.append(f"{path}: status {r1.status}/{r2.status}")
        got = origin.count(path) == 1
        if got != cached:
            wrong.append(f"{path}: {'served from the cache' if got else 'not cached'}")
        if cached and (b2 != b1 or r2.getheader("age") is None):
            wrong.append(f"{path}: hit {b2!r} after {b1!r}, age {r2.getheader('age')}")
    assert not wrong, "\n".join(wrong)


def test_request_no_cache_refetches_and_replaces(origin, start_proxy, tmp_path):
    p = start_proxy(config(origin, tmp_path))
    assert get(p, "/r")[1] == b"/r #1"
    assert get(p, "/r", {"Cache-Control": "no-cache"})[1] == b"/r #2"
    assert get(p, "/r")[1] == b"/r #2"


def test_entry_goes_stale_after_max_age(origin, start_proxy, tmp_path):
    origin.set("/short", fields=[("Cache-Control", "max-age=2")])
    p = start_proxy(config(origin, tmp_path))
    assert get(p, "/short")[1] == b"/short #1"
    assert get(p, "/short")[1] == b"/short #1"
    time.sleep(2.2)
    assert get(p, "/short", {"Cache-Control": "max-stale=5"})[1] == b"/short #1"
    assert get(p, "/short")[1] == b"/short #2"


def test_age_grows_from_upstream_age(origin, start_proxy, tmp_path):
    origin.set("/aged", fields=[("Cache-Control", "max-age=600"), ("Age", "30")])
    p = start_proxy(config(origin, tmp_path))
    get(p, "/aged")
    time.sleep(1.1)
    r, _ = get(p, "/aged")
    assert 31 <= int(r.getheader("age")) <= 36
    assert r.getheader("date") and r.getheader("date").endswith("GMT")


def test_malformed_fields_never_break_the_response(origin, start_proxy, tmp_path):
    bad = [(CC, "max-age=99999999999999999999, =, max-age"),
           ("Expires", "Thu, 99 Foo 2026 25:61:61 GMT"), ("Date", ""), ("Age", ""),
           ("Vary", ",,,"), ("Last-Modified", "0")]
    origin.set("/bad", fields=bad)
    p = start_proxy(config(origin, tmp_path))
    r1, b1 = get(p, "/bad")
    r2, b2 = get(p, "/bad")
    # a bare max-age contradicts the first one: read as stale, never served
    assert r1.status == r2.status == 200 and (b1, b2) == (b"/bad #1", b"/bad #2")
    origin.set("/bad2", fields=[(CC, "max-age=99999999999999999999")] + bad[1:])
    assert get(p, "/bad2")[1] == get(p, "/bad2")[1] == b"/bad2 #1"  # capped at 2^31 s


def test_stored_fields_come_back(origin, start_proxy, tmp_path):
    origin.set("/fields", fields=[("Cache-Control", "max-age=60"), ("X-One", "1"), ("X-Two", "a"),
                                  ("X-Two", "b"), ("Content-Type", "text/plain"),
                                  ("Connection", "X-Hop"), ("X-Hop", "gone")])
    p = start_proxy(config(origin, tmp_path))
    get(p, "/fields")
    c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
    c.request("GET", "/fields", headers={"Host": "app.test"})
    r = c.getresponse()
    r.read()
    names = [k.lower() for k, _ in r.getheaders()]
    assert r.getheader("x-one") == "1" and r.getheader("content-type") == "text/plain"
    assert [v for k, v in r.getheaders() if k.lower() == "x-two"] == ["a", "b"]
    assert "x-hop" not in names and names.count("date") == 1 and names.count("age") == 1
    assert names.count("content-length") == 1 and names.count("server") == 1
    assert origin.count("/fields") == 1
