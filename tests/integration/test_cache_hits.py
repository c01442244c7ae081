"""The response cache (SPEC 14): hits and misses, the key, the two tiers."""
import http.client
import re

import pytest

from cache_backend import CacheOrigin


@pytest.fixture
def origin():
    o = CacheOrigin()
    yield o
    o.stop()


def config(origin, tmp_path, cache="", extra="", apps=""):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{origin.port}" }}] }}]
{apps}
[experimental.cache]
cache_dir = "{tmp_path}/cache"
{cache}
"""


def get(proxy, path, headers=None, method="GET", host="app.test"):
    c = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    h = {"Host": host}
    h.update(headers or {})
    c.request(method, path, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def test_second_get_is_a_hit(origin, start_proxy, tmp_path):
    p = start_proxy(config(origin, tmp_path))
    r1, b1 = get(p, "/a")
    r2, b2 = get(p, "/a")
    assert r1.status == r2.status == 200
    assert b1 == b2 == b"/a #1"
    assert origin.count("/a") == 1
    assert r2.getheader("age") is not None and int(r2.getheader("age")) >= 0
    assert r2.getheader("server") == "rpxy"
    assert r2.getheader("date")
    assert r2.getheader("content-length") == "5"
    log = p.wait_log(r"Cache hit - Return from cache")
    assert len(re.findall(r"GET /a HTTP/1.1 -- 200 OK", log)) == 2


def test_head_and_get_do_not_answer_each_other(origin, start_proxy, tmp_path):
    p = start_proxy(config(origin, tmp_path))
    get(p, "/m")
    r, body = get(p, "/m", method="HEAD")  # stored GET: other method, evicted
    assert r.status == 200 and body == b""
    assert origin.count("/m") == 2
    r, body = get(p, "/m", method="HEAD")  # the stored HEAD answers
    assert origin.count("/m") == 2
    assert r.getheader("content-length") == "5" and r.getheader("age") is not None
    r, body = get(p, "/m")  # GET after a stored HEAD: upstream again
    assert body == b"/m #3" and origin.count("/m") == 3


def test_vhosts_and_host_spelling_are_separate_entries(origin, start_proxy, tmp_path):
    apps = f"""
[apps.other]
server_name = "other.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{origin.port}" }}] }}]
"""
    p = start_proxy(config(origin, tmp_path, apps=apps))
    assert get(p, "/v")[1] == b"/v #1"
    assert get(p, "/v", host="other.test")[1] == b"/v #2"
    assert get(p, "/v", host="APP.test")[1] == b"/v #3"  # the host verbatim
    assert get(p, "/v", host=f"app.test:{p.port}")[1] == b"/v #4"
    for host, want in (("app.test", b"/v #1"), ("other.test", b"/v #2"), ("APP.test", b"/v #3"),
                       (f"app.test:{p.port}", b"/v #4")):
        assert get(p, "/v", host=host)[1] == want
    assert origin.count("/v") == 4


def test_query_is_part_of_the_key(origin, start_proxy, tmp_path):
    p = start_proxy(config(origin, tmp_path))
    assert get(p, "/q?a=1")[1] == b"/q?a=1 #1"
    assert get(p, "/q?a=2")[1] == b"/q?a=2 #1"
    assert get(p, "/q?a=1")[1] == b"/q?a=1 #1"
    assert origin.count("/q?a=1") == 1 and origin.count("/q?a=2") == 1


def test_scheme_partitions_the_key(origin, start_proxy, tmp_path):
    extra = 'trusted_forwarded_proxies = ["127.0.0.1/32"]'
    p = start_proxy(config(origin, tmp_path, extra=extra))
    assert get(p, "/s")[1] == b"/s #1"
    assert get(p, "/s", {"X-Forwarded-Proto": "https"})[1] == b"/s #2"
    assert get(p, "/s", {"X-Forwarded-Proto": "HTTPS"})[1] == b"/s #2"
    assert get(p, "/s", {"X-Forwarded-Proto": "http"})[1] == b"/s #1"
    assert origin.count("/s") == 2


def test_key_uses_the_path_before_replace_path(origin, start_proxy, tmp_path):
    apps = f"""
[apps.rw]
server_name = "rw.test"
reverse_proxy = [
  {{ path = "/one", replace_path = "/same", upstream = [{{ location = "127.0.0.1:{origin.port}" }}] }},
  {{ path = "/two", replace_path = "/same", upstream = [{{ location = "127.0.0.1:{origin.port}" }}] }},
]
"""
    p = start_proxy(config(origin, tmp_path, apps=apps))
    assert get(p, "/one", host="rw.test")[1] == b"/same #1"
    assert get(p, "/two", host="rw.test")[1] == b"/same #2"
    assert get(p, "/one", host="rw.test")[1] == b"/same #1"
    assert get(p, "/two", host="rw.test")[1] == b"/same #2"


def test_vary_selects_by_the_request_fields(origin, start_proxy, tmp_path):
    origin.set("/vary", fields=[("Cache-Control", "max-age=60"), ("Vary", " , Accept-Language,,")])
    p = start_proxy(config(origin, tmp_path))
    assert get(p, "/vary", {"Accept-Language": "en"})[1] == b"/vary #1"
    assert get(p, "/vary", {"Accept-Language": "en"})[1] == b"/vary #1"
    assert get(p, "/vary", {"Accept-Language": "fr"})[1] == b"/vary #2"  # replaces the entry
    assert get(p, "/vary", {"Accept-Language": "fr"})[1] == b"/vary #2"
    assert get(p, "/vary")[1] == b"/vary #3"  # absent is a value of its own
    assert get(p, "/vary")[1] == b"/vary #3"
    assert origin.count("/vary") == 3


def test_sticky_cookie_alt_svc_and_server_on_hits(origin, start_proxy, tmp_path):
    extra = 'sticky_cookie_secret = "5_0aLI5pyN92tYnyEPOqjrmx-pUSvqPwjLRe85A_FuE"'
    apps = f"""
[apps.st]
server_name = "st.test"
reverse_proxy = [{{ load_balance = "sticky", upstream = [{{ location = "127.0.0.1:{origin.port}" }}] }}]
"""
    origin.set("/st", fields=[("Cache-Control", "max-age=60"), ("Server", "origin")])
    p = start_proxy(config(origin, tmp_path, extra=extra, apps=apps))
    r1, b1 = get(p, "/st", host="st.test")
    r2, b2 = get(p, "/st", host="st.test")
    assert b1 == b2 and origin.count("/st") == 1
    for r in (r1, r2):
        assert r.getheader("server") == "rpxy"
        assert "rpxy_sticky_token=" in (r.getheader("set-cookie") or "")


def test_conditional_requests_answered_from_the_cache(origin, start_proxy, tmp_path):
    lm = "Wed, 21 Oct 2015 07:28:00 GMT"
    origin.set("/c", fields=[("Cache-Control", "max-age=60"), ("ETag", '"v1"'),
                             ("Last-Modified", lm)])
    p = start_proxy(config(origin, tmp_path))
    get(p, "/c")
    r, body = get(p, "/c", {"If-None-Match": 'W/"v0", "v1"'})
    assert r.status == 304 and body == b"" and r.getheader("etag") == '"v1"'
    r, body = get(p, "/c", {"If-None-Match": '"v2"'})
    assert r.status == 200 and body == b"/c #1"
    r, body = get(p, "/c", {"If-Modified-Since": lm})
    assert r.status == 304
    r, body = get(p, "/c", {"If-Modified-Since": "Wed, 21 Oct 2015 07:27:59 GMT"})
    assert r.status == 200 and body == b"/c #1"
    r, body = get(p, "/c", {"If-Modified-Since": "garbage"})
    assert r.status == 200
    assert origin.count("/c") == 1
    assert len(re.findall(r"GET /c HTTP/1.1 -- 304 Not Modified", p.log())) == 2


def test_only_if_cached(origin, start_proxy, tmp_path):
    p = start_proxy(config(origin, tmp_path))
    r, _ = get(p, "/oic", {"Cache-Control": "only-if-cached"})
    assert r.status == 504 and origin.count("/oic") == 0
    get(p, "/oic")
    r, body = get(p, "/oic", {"Cache-Control": "only-if-cached"})
    assert r.status == 200 and body == b"/oic #1" and origin.count("/oic") == 1


def test_post_is_cached_only_with_explicit_freshness(origin, start_proxy, tmp_path):
    origin.set("/p-implicit", fields=[])
    p = start_proxy(config(origin, tmp_path))
    assert get(p, "/p", method="POST")[1] == b"/p #1"
    assert get(p, "/p", method="POST")[1] == b"/p #1"
    assert get(p, "/p")[1] == b"/p #2"  # GET does not take a stored POST
    get(p, "/p-implicit", method="POST")
    get(p, "/p-implicit", method="POST")
    assert origin.count("/p-implicit") == 2
    # a POST takes no key lock: the entry is in before the client has the
    # whole response, so the next request finds it (another worker may
    # answer it)
    for i in range(30):
        assert get(p, f"/p{i}", method="POST")[1] == f"/p{i} #1".encode()
        assert get(p, f"/p{i}", method="POST")[1] == f"/p{i} #1".encode()


def test_hit_over_http2_of_an_entry_stored_over_http1(origin, start_proxy, tmp_path):
    from h2util import curl
    p = start_proxy(config(origin, tmp_path))
    assert get(p, "/h2")[1] == b"/h2 #1"
    version, status, body, head = curl(["--http2-prior-knowledge", "-H", "Host: app.test"],
                                       f"http://127.0.0.1:{p.port}/h2")
    assert version == "2" and status == 200 and body == b"/h2 #1"
    assert re.search(r"^age: \d+", head, re.M | re.I)
    assert origin.count("/h2") == 1
    p.wait_log(r"GET /h2 HTTP/2.0 -- 200 OK")
