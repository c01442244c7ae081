"""ACME against a CA that misbehaves (issue 11, bad input): malformed JSON, a
huge body, a CA that never answers. Each is an `rpxy ACME error:` line and a
retry later, while the proxy keeps serving and stops promptly. The CA is a
real HTTPS server (Python's http.server over TLS) that the proxy trusts
through SSL_CERT_FILE."""
import http.server
import ssl
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

            def do_GET(self):
                if behaviour == "hang":
                    outer.release.wait(60)
                    return
                body = (b'{"newNonce": 1, "newAccount": [' if behaviour == "malformed"
                        else b'{"pad":"' + b"x" * (2 << 20) + b'"}')
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

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
