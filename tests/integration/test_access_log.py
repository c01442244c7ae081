"""The access log line, byte-compatible with SPEC 13, in access.log."""
import re

from backends import raw_request

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


def test_access_log_lines(backend, start_proxy, tmp_path):
    logs = tmp_path / "logs"
    p = start_proxy(f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
# one worker: lines of different workers reach the file in the order their
# buffers are flushed, not always the order of the requests
worker_threads = 1
redact_query_in_access_log = true
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
""", log_dir=logs)
    raw_request(p.port, b"GET /reset?token=abc&email=a@b.com&flag HTTP/1.1\r\nHost: app.test:8080\r\n"
                        b"User-Agent: Mozilla/5.0\r\nX-Forwarded-For: 10.0.0.1\r\n"
                        b"Forwarded: for=10.0.0.1\r\nConnection: close\r\n\r\n")
    raw_request(p.port, b"GET http://app.test/abs HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    raw_request(p.port, b"GET / HTTP/1.1\r\nHost: nope\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: close\r\n\r\n")
    access = logs / "access.log"
    import time
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and access.read_text().count("\n") < 3:
        time.sleep(0.05)
    lines = access.read_text().splitlines()
    assert len(lines) == 3, lines
    port = backend.port
    assert re.fullmatch(
        TS + r" app\.test:8080 <- 127\.0\.0\.1:\d+ -- GET /reset\?token=<redacted>&email=<redacted>&<redacted> "
        r"HTTP/1\.1 -- 200 OK -- /reset \"Mozilla/5\.0\", \"127\.0\.0\.1\" \"for=10\.0\.0\.1\" "
        rf"\"http://127\.0\.0\.1:{port}/reset\?token=<redacted>&email=<redacted>&<redacted>\"", lines[0]), lines[0]
    assert re.fullmatch(
        TS + r" app\.test <- 127\.0\.0\.1:\d+ -- GET /abs HTTP/1\.1 -- 200 OK -- http://app\.test/abs "
        rf"\"\", \"127\.0\.0\.1\" \"http://127\.0\.0\.1:{port}/abs\"", lines[1]), lines[1]
    assert re.fullmatch(
        TS + r" nope <- 127\.0\.0\.1:\d+ -- GET / HTTP/1\.1 -- 503 Service Unavailable -- / \"\", "
        r"\"1\.2\.3\.4\" \"\"", lines[2]), lines[2]
    assert "<- " not in (logs / "rpxy.log").read_text().replace("ERROR No matching backend app: nope <- ", "")
