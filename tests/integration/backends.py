"""Real backends and a running proxy for the proxy tests.

EchoBackend answers every request with JSON describing what it received
(method, path, headers in order, body), with special paths:
  /status/NNN   answer with that status
  /chunked      a chunked response body
  /close        a body delimited by closing the connection
  /slow?s=N     wait N seconds before answering
  /big?n=N      a body of N bytes
  /set-cookie   sets a cookie named rpxy_sticky_token=upstream (to be replaced)
Upgrade requests get 101 and then every byte is echoed back.
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from conftest import RPXY, free_port, in_use


def bind_retrying(listen, attempts=3):
    """listen(port) on a free_port(); again on another port if that one was
    taken in the meantime (by a process outside this test session).
    Returns (port, what listen returned)."""
    for attempt in range(attempts):
        port = free_port()
        try:
            return port, listen(port)
        except OSError as e:
            if attempt == attempts - 1 or not in_use(e):
                raise


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        if hasattr(self.connection, "session_reused"):
            self.server.tls_seen.append(self.connection.session_reused)
        body = self._body()
        self.server.requests.append((self.command, self.path, list(self.headers.items()), body))
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        if (self.headers.get("Upgrade") and
                "upgrade" in self.headers.get("Connection", "").lower()):
            return self._upgrade()
        info = {
            "backend": self.server.name,
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("latin-1"),
        }
        payload = json.dumps(info).encode()
        m = re.match(r"/status/(\d+)", url.path)
        status = int(m.group(1)) if m else 200
        if url.path == "/slow":
            time.sleep(float(q.get("s", ["1"])[0]))
        if url.path == "/big":
            payload = b"x" * int(q.get("n", ["0"])[0])
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Server", "echo-backend")
        self.send_header("X-Backend", self.server.name)
        if url.path == "/set-cookie":
            self.send_header("Set-Cookie", "rpxy_sticky_token=fromupstream; Path=/")
            self.send_header("Set-Cookie", "app=1")
        if url.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                for part in (payload[:10], payload[10:]):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            return
        if url.path == "/close":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            self.close_connection = True
            return
        if status in (204, 304):
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _upgrade(self):
        self.send_response(101)
        self.send_header("Upgrade", self.headers["Upgrade"])
        self.send_header("Connection", "Upgrade")
        self.end_headers()
        self.wfile.flush()
        sock = self.connection
        while True:
            data = sock.recv(65536)
            if not data:
                break
            sock.sendall(data)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _handle


class EchoBackend:
    """An HTTP/1.1 backend answering with what it received (JSON); with
    tls_context (an ssl.SSLContext for the server side) it speaks HTTPS and
    records each connection's SNI and whether its session was resumed."""

    def __init__(self, name="b0", tls_context=None):
        self.port, self.server = bind_retrying(
            lambda port: ThreadingHTTPServer(("127.0.0.1", port), _Handler))
        self.server.daemon_threads = True
        self.server.name = name
        self.server.requests = []
        self.server.tls_seen = []  # (sni, session_reused) per request
        self.snis = []
        if tls_context:
            tls_context.sni_callback = lambda sock, name, ctx: self.snis.append(name)
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self):
        return self.server.requests

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class RawBackend:
    """A TCP server whose per-connection behaviour is a Python function
    handler(conn) — for malformed, stalled or reset responses."""

    def __init__(self, handler):
        def listen(port):
            sock = socket.socket()
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port))
                sock.listen(64)
            except OSError:
                sock.close()
                raise
            return sock
        self.port, self.sock = bind_retrying(listen)
        self.handler = handler
        self.accepted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self.handler(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.sock.close()


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _has_line(path, text):
    try:
        with open(path, errors="replace") as f:
            return text in f.read()
    except OSError:
        return False


class Proxy:
    """rpxy started on a config; `port` is its plaintext port. Its config is
    NAME.toml and its output NAME.out in tmp_path: a second proxy in the same
    test needs another NAME, or the first would reload the second's config
    (it watches its file) and both would listen on one port (SO_REUSEPORT)."""

    def __init__(self, tmp_path, config, port, env=None, log_dir=None, name="rpxy",
                 also_wait=()):
        self.port = port
        self.path = tmp_path / f"{name}.toml"
        self.path.write_text(config)
        self.out_path = tmp_path / f"{name}.out"
        self.out = open(self.out_path, "wb")
        full_env = {k: v for k, v in os.environ.items() if k not in ("RUST_LOG", "RPXY_LOG")}
        full_env.update(env or {})
        args = [str(RPXY), "--config", str(self.path)]
        if log_dir:
            args += ["--log-dir", str(log_dir)]
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT, env=full_env)
        # with more than one listener, the start-up line that says every
        # worker serves its listeners (no extra connection: it would take a
        # per-IP slot the test may count)
        ready_log = os.path.join(log_dir, "rpxy.log") if log_dir else self.out_path
        level = (full_env.get("RUST_LOG") or full_env.get("RPXY_LOG") or "info").strip().lower()
        quiet = level in ("warn", "error", "off")  # no INFO line: connect to them instead
        waiting = list(also_wait) if quiet else []
        deadline = time.monotonic() + 10
        listening = False
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.out.close()
                raise AssertionError(f"rpxy exited {self.proc.returncode}:\n{self.log()}")
            if not listening:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    listening = True
                except OSError:
                    time.sleep(0.05)
                    continue
            if waiting:
                try:
                    socket.create_connection(("127.0.0.1", waiting[-1]), timeout=0.2).close()
                    waiting.pop()
                except OSError:
                    time.sleep(0.05)
                continue
            if not also_wait or quiet or _has_line(ready_log, "rpxy is ready"):
                return
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        self.out.close()
        raise AssertionError(f"rpxy did not listen on {port}:\n{self.log()}")

    def log(self):
        return self.out_path.read_text(errors="replace")

    def wait_log(self, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log(), re.M):
                return self.log()
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not in log:\n{self.log()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        return self.proc.returncode


def raw_request(port, data, timeout=5, read_all=True, close_write=False):
    """Sends bytes (then half-closes when close_write), returns everything
    received until the proxy closes (or the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if close_write:
            s.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if not read_all:
                    break
        except (socket.timeout, ConnectionResetError):
            pass
        return out
