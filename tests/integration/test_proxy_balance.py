"""Load balancing (SPEC 7): none, round_robin, random, and sticky cookies
sealed with AES-256-GCM."""
import json
import re

from backends import EchoBackend, raw_request

SECRET = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"


def config(backends, lb, extra=""):
    ups = ", ".join(f'{{ location = "127.0.0.1:{b.port}" }}' for b in backends)
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
sticky_cookie_secret = "{SECRET}"
{extra}
[apps.app]
server_name = "app.test"
[[apps.app.reverse_proxy]]
upstream = [{ups}]
load_balance = "{lb}"
"""


def get(p, path="/", headers=""):
    out = raw_request(p.port, f"GET {path} HTTP/1.1\r\nHost: app.test\r\n{headers}Connection: close\r\n\r\n".encode())
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode().replace("\r", ""), json.loads(body)


def test_round_robin_and_none(start_proxy):
    bs = [EchoBackend(f"b{i}") for i in range(3)]
    p = start_proxy(config(bs, "round_robin"))
    seq = [get(p)[1]["backend"] for _ in range(7)]
    assert seq == ["b0", "b1", "b2", "b0", "b1", "b2", "b0"]
    p2 = start_proxy(config(bs, "none"))
    assert {get(p2)[1]["backend"] for _ in range(5)} == {"b0"}
    for b in bs:
        b.stop()


def test_random_uses_all(start_proxy):
    bs = [EchoBackend(f"b{i}") for i in range(2)]
    p = start_proxy(config(bs, "random"))
    assert {get(p)[1]["backend"] for _ in range(40)} == {"b0", "b1"}
    for b in bs:
        b.stop()


def test_sticky_cookie(start_proxy):
    bs = [EchoBackend(f"b{i}") for i in range(3)]
    p = start_proxy(config(bs, "sticky"))
    head, info = get(p, "/set-cookie", "Cookie: app=1; other=2\r\n")
    first = info["backend"]
    cookies = re.findall(r"^set-cookie: (.*)$", head, re.M | re.I)
    sticky = [c for c in cookies if c.startswith("rpxy_sticky_token=")]
    assert len(sticky) == 1, cookies
    assert "app=1" in cookies, "other upstream cookies are kept"
    assert "fromupstream" not in head, "the upstream's own sticky cookie is replaced"
    assert re.fullmatch(r"rpxy_sticky_token=[A-Za-z0-9_-]{107}; expires=\w{3}, \d\d-\w{3}-\d{4} "
                        r"\d\d:\d\d:\d\d GMT; Max-Age=(300|299); path=/; domain=app\.test; "
                        r"HttpOnly; SameSite=Lax", sticky[0]), sticky[0]
    # the sticky cookie is not forwarded, the others are
    assert dict((k.lower(), v) for k, v in info["headers"])["cookie"] == "app=1; other=2"
    token = sticky[0].split(";")[0]
    for _ in range(6):
        head, info = get(p, "/", f"Cookie: a=1; {token}\r\n")
        assert info["backend"] == first
        assert "rpxy_sticky_token" not in head, "a valid cookie is not re-issued"
        assert dict((k.lower(), v) for k, v in info["headers"])["cookie"] == "a=1"
    # a forged cookie is ignored and a new one issued
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    head, info = get(p, "/", f"Cookie: {forged}\r\n")
    assert "set-cookie: rpxy_sticky_token=" in head.lower()
    for b in bs:
        b.stop()


def test_sticky_secure_behind_trusted_tls_proxy(start_proxy):
    bs = [EchoBackend(f"b{i}") for i in range(2)]
    p = start_proxy(config(bs, "sticky", 'trusted_forwarded_proxies = ["127.0.0.0/8"]'))
    head, _ = get(p, "/", "X-Forwarded-Proto: https\r\n")
    assert re.search(r"^set-cookie: rpxy_sticky_token=.*; SameSite=Lax; Secure$", head, re.M | re.I)
    p2 = start_proxy(config(bs, "sticky"))
    head, _ = get(p2, "/", "X-Forwarded-Proto: https\r\n")
    assert "Secure" not in head, "an untrusted peer's X-Forwarded-Proto is ignored"
    for b in bs:
        b.stop()
