"""ACME against a CA that misbehaves (issue 11, bad input): malformed JSON, a
huge body, a CA that never answers (and the 30 s request timeout firing),
unexpected HTTP statuses and order statuses, and a registry on a full disk.
Each is an `rpxy ACME error:` line and a retry later, while the proxy keeps
serving and stops promptly. The CA is a real HTTPS server (Python's
http.server over TLS) that the proxy trusts through SSL_CERT_FILE; it speaks
just enough ACME (directory, nonces, account) to reach the answer under
test."""
import http.server
import json
import os
import re
import ssl
import subprocess
import threading
import time

import pytest

from backends import raw_request
from certs import make_ca, make_leaf, write_ca
from conftest import free_port
from test_acme import acme_config


class BadCA:
    def __init__(self, d, behaviour):
        ca = make_ca("bad CA")
        crt, key = make_leaf(ca, names=("localhost",), ips=("127.0.0.1",)).write(str(d), "ca")
        self.ca_file = write_ca(ca, str(d), "bad-ca.pem")
        self.port = free_port()
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, obj=None, body=None, headers=()):
                if body is None:
                    body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Replay-Nonce", "nonce-%d" % time.monotonic_ns())
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def do_HEAD(self):
                self.send_response(200)
                self.send_header("Replay-Nonce", "nonce-%d" % time.monotonic_ns())
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                if behaviour == "hang":
                    outer.release.wait(60)
                    return
                if behaviour == "malformed":
                    return self.answer(200, body=b'{"newNonce": 1, "newAccount": [')
                if behaviour == "huge":
                    return self.answer(200, body=b'{"pad":"' + b"x" * (2 << 20) + b'"}')
                base = outer.dir_url.rsplit("/", 1)[0]
                self.answer(200, {"newNonce": base + "/nonce", "newAccount": base + "/account",
                                  "newOrder": base + "/order"})

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                base = outer.dir_url.rsplit("/", 1)[0]
                if self.path == "/account":
                    return self.answer(201, {"status": "valid"},
                                       headers=[("Location", base + "/acct/1")])
                if behaviour == "order-500":
                    return self.answer(500, {"type": "urn:ietf:params:acme:error:serverInternal",
                                             "detail": "the CA broke"})
                # order-status: an order whose status RFC 8555 does not list
                self.answer(201, {"status": "exploded", "identifiers": [], "authorizations": [],
                                  "finalize": base + "/finalize"},
                            headers=[("Location", base + "/order/1")])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def dir_url(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("behaviour,reason", [
    ("malformed", r"directory https://127\.0\.0\.1:\d+/dir: malformed JSON"),
    ("huge", r"https://127\.0\.0\.1:\d+/dir: response body larger than 262144 bytes"),
    ("order-500", r"newOrder: HTTP 500 \(.*the CA broke.*\)"),
    ("order-status", r'newOrder for a\.example: unexpected status "exploded"'),
])
def test_bad_answers_are_errors_and_retried(tmp_path, start_proxy, behaviour, reason):
    ca = BadCA(tmp_path, behaviour)
    try:
        p = start_proxy(acme_config(ca.dir_url, tmp_path / "reg", free_port(),
                                    names=("a.example",)), env={"SSL_CERT_FILE": ca.ca_file})
        p.wait_log(rf'rpxy ACME error: order for "a\.example" failed: {reason}.*retrying in 1 s')
        p.wait_log(rf'rpxy ACME error: order for "a\.example" failed: {reason}.*retrying in 2 s')
    finally:
        ca.close()


def test_hanging_ca_blocks_nothing(tmp_path, start_proxy):
    """While the ACME thread waits on a CA that never answers, requests are
    served, and SIGTERM ends the process at once (the request is aborted)."""
    ca = BadCA(tmp_path, "hang")
    try:
        p = start_proxy(acme_config(ca.dir_url, tmp_path / "reg", free_port(),
                                    names=("a.example",)), env={"SSL_CERT_FILE": ca.ca_file})
        p.wait_log(r'OrderStart domain="a\.example"')
        time.sleep(0.5)
        resp = raw_request(p.port, b"GET / HTTP/1.1\r\nHost: nowhere.example\r\n\r\n")
        assert resp.startswith(b"HTTP/1.1 ")
        start = time.monotonic()
        assert p.stop() == 0
        assert time.monotonic() - start < 5
    finally:
        ca.close()


def test_request_timeout_fires_and_is_retried(tmp_path, start_proxy):
    """A CA that accepts the connection and never answers: the request is
    abandoned after ACME_REQUEST_TIMEOUT_S (30 s), logged, and retried."""
    ca = BadCA(tmp_path, "hang")
    try:
        p = start_proxy(acme_config(ca.dir_url, tmp_path / "reg", free_port(),
                                    names=("a.example",)), env={"SSL_CERT_FILE": ca.ca_file})
        p.wait_log(r'OrderStart domain="a\.example"')
        start = time.monotonic()
        p.wait_log(r'rpxy ACME error: order for "a\.example" failed: .*dir.*(timed out|Timeout)'
                   r'.*retrying in 1 s', timeout=40)
        assert 28 <= time.monotonic() - start <= 36
        resp = raw_request(p.port, b"GET / HTTP/1.1\r\nHost: nowhere.example\r\n\r\n")
        assert resp.startswith(b"HTTP/1.1 ")
    finally:
        ca.close()


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs at tmp_path/disk (the tests run as root)."""
    d = tmp_path / "disk"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(d)],
                   check=True)
    yield d
    subprocess.run(["umount", "-l", str(d)], check=False)


def fill(path):
    """Writes path until the file system is full."""
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"x" * 4096)
        except OSError:
            pass


def test_registry_on_a_full_disk(tmp_path, small_disk, start_proxy):
    """Pebble issuing 9 s certificates into a registry on a small tmpfs: the
    first certificate is stored and served, then the disk fills up. Storing
    the renewed certificate fails with an `rpxy ACME error:` line naming the
    errno and is retried with backoff; the working certificate stays served
    (the registry writes a temporary file and renames it). Once there is room
    again the renewal is stored and served."""
    from acme_env import Pebble
    from test_acme import served_cert, serial_of, wait_served
    registry = small_disk / "reg"
    tls_port = free_port()
    pb = Pebble(str(tmp_path / "pebble"), tls_port, validity=9)
    try:
        p = start_proxy(acme_config(pb.dir_url, registry, tls_port, names=("a.example",)),
                        env=pb.env)
        p.wait_log(r'DeployedNewCert domain="a\.example"', timeout=20)
        root = pb.root_pem()
        ok, first, out = wait_served(tls_port, "a.example", root)
        assert ok and first, out
        fill(small_disk / "filler")
        p.wait_log(r"rpxy ACME error: .*a\.example.*No space left on device", timeout=20)
        # A renewal may have been stored before the disk filled up: the
        # certificate to keep serving is the one the registry still holds.
        stored = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                           next((registry / "a.example").glob("cached_cert_*")).read_text(),
                           re.S).group(0)
        ok, still, out = served_cert(tls_port, "a.example", root)
        assert still and serial_of(still) == serial_of(stored), out
        resp = raw_request(p.port, b"GET / HTTP/1.1\r\nHost: nowhere.example\r\n\r\n")
        assert resp.startswith(b"HTTP/1.1 ")
        os.unlink(small_disk / "filler")
        p.wait_log(r'DeployedNewCert domain="a\.example"(.|\n)*DeployedNewCert '
                   r'domain="a\.example"', timeout=30)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            ok, renewed, out = served_cert(tls_port, "a.example", root)
            if renewed and serial_of(renewed) != serial_of(stored):
                break
            time.sleep(0.2)
        assert ok and serial_of(renewed) != serial_of(stored), out
    finally:
        pb.close()
