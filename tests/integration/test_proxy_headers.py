"""Header policy of SPEC 5 and 4.9 as the backend sees it."""
import json

from backends import raw_request


def config(backend, route_extra="", extra=""):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.app]
server_name = "app.test"
[[apps.app.reverse_proxy]]
upstream = [{{ location = "127.0.0.1:{backend.port}" }}]
{route_extra}
"""


def send(p, head_lines):
    raw = ("GET /h?q=1 HTTP/1.1\r\n" + "".join(l + "\r\n" for l in head_lines) +
           "Connection: close\r\n\r\n").encode()
    out = raw_request(p.port, raw)
    assert out.startswith(b"HTTP/1.1 200 "), out[:300]
    info = json.loads(out.split(b"\r\n\r\n", 1)[1])
    return info["headers"]


def values(headers, name):
    return [v for k, v in headers if k.lower() == name]


def test_forwarding_headers_untrusted_peer(backend, start_proxy):
    p = start_proxy(config(backend))
    h = send(p, ["Host: App.Test:8080", "X-Forwarded-For: 6.6.6.6", "X-Real-IP: 6.6.6.6",
                 "X-Forwarded-Proto: https", "X-Forwarded-Host: evil", "X-Forwarded-Port: 1",
                 "X-Original-URI: /evil", "Proxy: http://evil:3128", "Forwarded: for=6.6.6.6"])
    assert values(h, "host") == ["App.Test:8080"], "Host forwarded verbatim"
    assert values(h, "x-forwarded-for") == ["127.0.0.1"]
    assert values(h, "x-real-ip") == ["127.0.0.1"]
    assert values(h, "x-forwarded-proto") == ["http"]
    assert values(h, "x-forwarded-ssl") == ["off"]
    assert values(h, "x-forwarded-port") == [str(p.port)]
    assert values(h, "x-original-uri") == ["/h?q=1"]
    assert values(h, "x-forwarded-host") == ["App.Test:8080"]
    assert values(h, "proxy") == [""]
    assert values(h, "forwarded") == ["for=127.0.0.1;proto=http;host=\"App.Test:8080\""]


def test_trusted_proxy_chain(backend, start_proxy):
    p = start_proxy(config(backend, extra='trusted_forwarded_proxies = ["127.0.0.0/8"]'))
    h = send(p, ["Host: app.test", "X-Forwarded-For: 198.51.100.10, 127.0.0.9"])
    assert values(h, "x-forwarded-for") == ["198.51.100.10, 127.0.0.9, 127.0.0.1"]
    assert values(h, "x-real-ip") == ["198.51.100.10"]
    h = send(p, ["Host: app.test", "X-Forwarded-For: 198.51.100.10, 203.0.113.20"])
    assert values(h, "x-forwarded-for") == ["203.0.113.20, 127.0.0.1"]
    assert values(h, "x-real-ip") == ["203.0.113.20"]


def test_hop_by_hop_and_connection_listed_removed(backend, start_proxy):
    p = start_proxy(config(backend))
    h = send(p, ["Host: app.test", "Connection: X-Drop", "X-Drop: 1", "Keep-Alive: 5",
                 "Proxy-Authorization: Basic eA==", "Proxy-Connection: keep-alive",
                 "TE: trailers, deflate", "Trailer: X", "X-Keep: yes"])
    names = [k.lower() for k, _ in h]
    for gone in ("x-drop", "keep-alive", "proxy-authorization", "proxy-connection", "trailer"):
        assert gone not in names
    assert values(h, "te") == ["trailers"]
    assert values(h, "x-keep") == ["yes"]


def test_cookies_merged(backend, start_proxy):
    p = start_proxy(config(backend))
    h = send(p, ["Host: app.test", "Cookie: a=1", "Cookie: b=2; c=3"])
    assert values(h, "cookie") == ["a=1; b=2; c=3"]


def test_set_upstream_host_and_options(backend, start_proxy):
    p = start_proxy(config(backend, route_extra='upstream_options = ["set_upstream_host", '
                                                '"upgrade_insecure_requests", "forwarded_header"]'))
    h = send(p, ["Host: app.test"])
    assert values(h, "host") == [f"127.0.0.1:{backend.port}"]
    assert values(h, "upgrade-insecure-requests") == ["1"]
    assert values(h, "forwarded") == ["for=127.0.0.1;proto=http;host=app.test"]


def test_keep_original_host_wins(backend, start_proxy):
    p = start_proxy(config(backend, route_extra='upstream_options = ["set_upstream_host", '
                                                '"keep_original_host"]'))
    assert values(send(p, ["Host: app.test"]), "host") == ["app.test"]


def test_default_app_forces_host(backend, start_proxy):
    p = start_proxy(config(backend, extra='default_app = "app"'))
    h = send(p, ["Host: unknown.example"])
    assert values(h, "host") == ["app.test"]
    assert values(h, "x-forwarded-host") == ["unknown.example"]
