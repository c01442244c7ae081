"""Routing of SPEC 4: hosts, default_app, redirects, longest-prefix paths,
replace_path (joined cleanly), and the synthetic statuses with their logs."""
import json

from backends import EchoBackend, raw_request


def get(p, path, host="app.test", extra=""):
    out = raw_request(p.port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode())
    status = int(out[9:12])
    body = out.split(b"\r\n\r\n", 1)[1]
    return status, out, body


def test_routes_and_rewrites(start_proxy):
    a, b, c = EchoBackend("a"), EchoBackend("b"), EchoBackend("c")
    p = start_proxy(f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "App.Test"
[[apps.app.reverse_proxy]]
upstream = [{{ location = "127.0.0.1:{a.port}" }}]
[[apps.app.reverse_proxy]]
path = "/maps"
replace_path = "/replacing/path1"
upstream = [{{ location = "127.0.0.1:{b.port}" }}]
[[apps.app.reverse_proxy]]
path = "/api/"
replace_path = "/"
upstream = [{{ location = "127.0.0.1:{c.port}" }}]
""")
    cases = [
        ("/", "a", "/"),
        ("/mapsx", "a", "/mapsx"),
        ("/maps", "b", "/replacing/path1"),
        ("/maps?x=1", "b", "/replacing/path1?x=1"),
        ("/maps/org/a.ext?x=1", "b", "/replacing/path1/org/a.ext?x=1"),
        ("/api", "c", "/"),
        ("/api/v1/users", "c", "/v1/users"),
        ("/API/v1", "a", "/API/v1"),
    ]
    for path, backend, upstream_path in cases:
        status, _, body = get(p, path)
        info = json.loads(body)
        assert (status, info["backend"], info["path"]) == (200, backend, upstream_path), path
    for be in (a, b, c):
        be.stop()


def test_synthetic_statuses(backend, start_proxy):
    p = start_proxy(f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "app.test"
[[apps.app.reverse_proxy]]
path = "/only"
upstream = [{{ location = "127.0.0.1:{backend.port}" }}]
""")
    status, out, body = get(p, "/other")
    assert status == 404 and body == b""
    assert b"server:" not in out.lower()
    status, _, _ = get(p, "/only", host="nope.test")
    assert status == 503
    status, _, _ = get(p, "/only", host="App.Test.")
    assert status == 503, "trailing dots are not removed"
    status, _, _ = get(p, "/only", host="APP.test:1234")
    assert status == 200
    p.wait_log(r"ERROR No upstream candidates: app\.test <- 127\.0\.0\.1:\d+ -- GET /other HTTP/1\.1")
    p.wait_log(r"app\.test <- 127\.0\.0\.1:\d+ -- GET /other HTTP/1\.1 -- 404 Not Found -- /other \"\", \"\" \"\"$")
    p.wait_log(r"ERROR No matching backend app: nope\.test")


def test_https_redirection(backend, start_proxy):
    p = start_proxy(f"""
listen_port = {{port}}
listen_port_tls = 8443
public_https_port = 443
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "app.test"
tls = {{ tls_cert_path = "c.pem", tls_cert_key_path = "k.pem" }}
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
[apps.other]
server_name = "other.test"
tls = {{ tls_cert_path = "c.pem", tls_cert_key_path = "k.pem", https_redirection = false }}
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
""")
    status, out, body = get(p, "/a/b?c=d")
    assert status == 301 and body == b""
    assert b"\r\nlocation: https://app.test/a/b?c=d\r\n" in out
    status, _, _ = get(p, "/x", host="other.test")
    assert status == 200
    assert backend.requests and backend.requests[0][1] == "/x"


def test_redirect_port_and_default_app_name(backend, start_proxy):
    p = start_proxy(f"""
listen_port = {{port}}
listen_port_tls = 8443
listen_address_v4 = "127.0.0.1"
default_app = "app"
[apps.app]
server_name = "app.test"
tls = {{ tls_cert_path = "c.pem", tls_cert_key_path = "k.pem" }}
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
""")
    status, out, _ = get(p, "/p", host="whatever.example")
    assert status == 301
    assert b"\r\nlocation: https://app.test:8443/p\r\n" in out
