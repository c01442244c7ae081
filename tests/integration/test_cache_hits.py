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
