"""Shared pieces of the HTTP/2 downstream tests: configs, test certificates,
a raw HTTP/1.1 backend that records every byte and every request (chunked
trailers included), and a curl runner."""
import json
import os
import subprocess
import tempfile
import threading
import time

import certs
from backends import RawBackend


def plain_config(backend, extra="", tail=""):
    """app.test on the plaintext port only."""
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
{tail}
"""


def make_pki(directory):
    ca = certs.make_ca()
    out = {"ca": certs.write_ca(ca, str(directory))}
    for name in ("a.test", "b.test"):
        out[name] = certs.make_leaf(ca, [name]).write(str(directory), name)
    return out


def tls_config(pki, backend, extra_global="", extra_a="", tail=""):
    """a.test and b.test with certificates, plain.test plaintext only,
    routes.test with only /api routed; both ports."""
    a_crt, a_key = pki["a.test"]
    b_crt, b_key = pki["b.test"]
    loc = f'upstream = [{{ location = "127.0.0.1:{backend.port}" }}]'
    return f"""
listen_port = {{port}}
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
{extra_global}
[apps.a]
server_name = "a.test"
reverse_proxy = [{{ {loc} }}]
tls = {{ tls_cert_path = "{a_crt}", tls_cert_key_path = "{a_key}" {extra_a} }}
[apps.b]
server_name = "b.test"
reverse_proxy = [{{ {loc} }}]
tls = {{ tls_cert_path = "{b_crt}", tls_cert_key_path = "{b_key}" }}
[apps.plain]
server_name = "plain.test"
reverse_proxy = [{{ {loc} }}]
[apps.routes]
server_name = "routes.test"
reverse_proxy = [{{ path = "/api", {loc} }}]
{tail}
"""


class Request:
    def __init__(self, method, target, headers, body, trailers, chunked):
        self.method, self.target, self.headers = method, target, headers
        self.body, self.trailers, self.chunked = body, trailers, chunked

    def values(self, name):
        return [v for k, v in self.headers if k.lower() == name]

    def __repr__(self):
        return f"<Request {self.method} {self.target} {self.headers} body={self.body[:100]!r} trailers={self.trailers}>"


def default_response(req):
    payload = json.dumps({
        "method": req.method, "path": req.target,
        "headers": [[k, v] for k, v in req.headers],
        "body": req.body.decode("latin-1"),
        "trailers": [[k, v] for k, v in req.trailers],
    }).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(payload)) + payload


class H1Backend:
    """A raw HTTP/1.1 backend. Every byte received is kept per connection
    (`received`); each complete request (Content-Length or chunked body,
    chunked trailers included) is appended to `requests` and answered with
    respond(request) -> bytes (default: 200 with JSON describing it); targets
    starting with /slow are answered after 0.5 s."""

    def __init__(self, respond=default_response):
        self.respond = respond
        self.received = []
        self.requests = []
        self.lock = threading.Lock()
        self.raw = RawBackend(self._serve)
        self.port = self.raw.port

    def all_bytes(self):
        with self.lock:
            return b"".join(bytes(b) for b in self.received)

    def paths(self):
        return [r.target for r in self.requests]

    def stop(self):
        self.raw.stop()

    def _serve(self, conn):
        seen = bytearray()
        with self.lock:
            self.received.append(seen)
        buf = bytearray()

        def fill():
            chunk = conn.recv(65536)
            if not chunk:
                raise EOFError
            seen.extend(chunk)
            buf.extend(chunk)

        def line():
            while b"\r\n" not in buf:
                fill()
            i = buf.index(b"\r\n")
            out = bytes(buf[:i])
            del buf[:i + 2]
            return out

        def exactly(n):
            while len(buf) < n:
                fill()
            out = bytes(buf[:n])
            del buf[:n]
            return out

        try:
            while True:
                start = line()
                while start == b"":
                    start = line()
                method, target, _ = start.decode("latin-1").split(" ", 2)
                headers = []
                while True:
                    h = line()
                    if not h:
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers.append((k, v.strip()))
                names = {k.lower(): v for k, v in headers}
                body, trailers, chunked = b"", [], False
                if names.get("transfer-encoding", "").lower() == "chunked":
                    chunked = True
                    parts = []
                    while True:
                        size = int(line().split(b";")[0], 16)
                        if size == 0:
                            break
                        parts.append(exactly(size))
                        exactly(2)
                    body = b"".join(parts)
                    while True:
                        t = line()
                        if not t:
                            break
                        k, _, v = t.decode("latin-1").partition(":")
                        trailers.append((k, v.strip()))
                elif "content-length" in names:
                    body = exactly(int(names["content-length"]))
                req = Request(method, target, headers, body, trailers, chunked)
                self.requests.append(req)
                if target.startswith("/slow"):
                    time.sleep(0.5)
                conn.sendall(self.respond(req))
        except (EOFError, ValueError):
            return


def curl(args, url, timeout=20):
    """Runs curl; returns (http_version, status, body bytes, header text)."""
    with tempfile.TemporaryDirectory() as d:
        body_path, head_path = os.path.join(d, "body"), os.path.join(d, "head")
        r = subprocess.run(["curl", "-sS", "-m", str(timeout), "-o", body_path, "-D", head_path,
                            "-w", "%{http_version} %{http_code}", *args, url],
                           capture_output=True, timeout=timeout + 5)
        assert r.returncode == 0, f"curl {args} {url}: rc={r.returncode} {r.stderr!r}"
        version, code = r.stdout.decode().split()
        with open(body_path, "rb") as f:
            body = f.read()
        with open(head_path, "rb") as f:
            head = f.read().decode("latin-1")
        return version, int(code), body, head
