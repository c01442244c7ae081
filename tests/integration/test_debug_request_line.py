"""The debug line of every forwarded request (SPEC 13.3, issue 12): at
RUST_LOG=debug, `Request to be forwarded: [uri ..., method: ..., version ...,
headers {...}]` with the values of authorization, proxy-authorization and
every cookie redacted unless RPXY_UNSAFE_DEBUG_HEADERS is enabled."""
import pytest

from backends import EchoBackend, raw_request


@pytest.fixture
def backend():
    b = EchoBackend()
    yield b
    b.stop()


def config(backend):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ path = "/api", replace_path = "/v1", upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
"""


REQ = (b"GET /api/x?q=1 HTTP/1.1\r\nHost: app.test\r\nAuthorization: Bearer s3cret\r\n"
       b"Cookie: a=1\r\nCookie: b=2\r\nProxy-Authorization: Basic cHJveHk=\r\n"
       b"User-Agent: t/1\r\nConnection: close\r\n\r\n")


@pytest.mark.parametrize("unsafe", ["", "1"])
def test_debug_line_per_forwarded_request(backend, start_proxy, unsafe):
    env = {"RUST_LOG": "debug"}
    if unsafe:
        env["RPXY_UNSAFE_DEBUG_HEADERS"] = unsafe
    p = start_proxy(config(backend), env=env)
    assert raw_request(p.port, REQ).startswith(b"HTTP/1.1 200")
    log = p.wait_log(rf"Request to be forwarded: \[uri http://127\.0\.0\.1:{backend.port}/v1/x\?q=1, "
                     r"method: GET, version HTTP/1\.1, headers \{.*\}\]")
    line = next(l for l in log.splitlines() if "Request to be forwarded" in l)
    assert ' DEBUG ' in line
    assert '"host": "app.test"' in line and '"user-agent": "t/1"' in line
    assert '"x-forwarded-for": "127.0.0.1"' in line
    if unsafe:
        assert '"authorization": "Bearer s3cret"' in line
        assert '"cookie": "a=1; b=2"' in line or '"cookie": "a=1"' in line
    else:
        assert "s3cret" not in line and "a=1" not in line and "cHJveHk" not in line
        assert '"authorization": "<redacted>"' in line
        assert '"cookie": "<redacted>"' in line


def test_no_debug_line_at_info(backend, start_proxy):
    p = start_proxy(config(backend))
    assert raw_request(p.port, REQ).startswith(b"HTTP/1.1 200")
    p.wait_log(r"GET /api/x\?q=1")
    assert "Request to be forwarded" not in p.log()
