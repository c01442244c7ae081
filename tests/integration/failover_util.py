"""Upstreams that can be killed and brought back, black holes, and a load
generator counting failed requests, for the failover tests (issue 14)."""
import json
import socket
import struct
import threading
import time
from collections import Counter

from backends import bind_retrying


def _reset(conn):
    """Closes with an RST (SO_LINGER 0)."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    except OSError:
        pass


def read_request(conn, buf=b""):
    """One request from conn: (method, path, body, rest) or None at EOF."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        if name.strip().lower() == "transfer-encoding":
            chunked = "chunked" in value.lower()
    if chunked:
        body, buf = _read_chunked(conn, buf)
        return (method, path, body, buf) if body is not None else None
    while len(buf) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    return method, path, buf[:length], buf[length:]


def _read_chunked(conn, buf):
    """A chunked body (no trailer fields expected): (body, rest) or (None, b"")."""
    body = b""
    while True:
        while b"\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            buf += chunk
        line, _, buf = buf.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        while len(buf) < size + 2:
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            buf += chunk
        if size == 0:
            return body, buf[2:]
        body += buf[:size]
        buf = buf[size + 2:]


class Upstream:
    """A keep-alive HTTP/1.1 upstream answering 200 with JSON naming it (and
    the method and body length it saw). kill() closes its listening socket
    and resets every open connection; start() listens again on the same
    port. host may be "::1" for an IPv6-only upstream."""

    def __init__(self, name, host="127.0.0.1", port=None):
        self.name, self.host = name, host
        self.drop = False  # close connections on their next request, unanswered
        self.requests = []  # (method, body length)
        self.conns = set()
        self.lock = threading.Lock()
        self.sock = None
        if port is None:
            self.port, self.sock = bind_retrying(self._listen)
            self._serve_listener()
        else:
            self.port = port
            self.start()

    def _listen(self, port):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        return socket.create_server((self.host, port), family=family, backlog=128)

    def start(self):
        self.sock = self._listen(self.port)
        self._serve_listener()

    def _serve_listener(self):
        threading.Thread(target=self._accept, args=(self.sock,), daemon=True).start()

    def _accept(self, sock):
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = b""
        try:
            while True:
                req = read_request(conn, buf)
                if req is None:
                    break
                method, _, body, buf = req
                if self.drop:
                    break  # closed without an answer
                with self.lock:
                    self.requests.append((method, len(body)))
                out = json.dumps({"backend": self.name, "method": method,
                                  "body": len(body)}).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
        except OSError:
            pass
        finally:
            with self.lock:
                self.conns.discard(conn)
            conn.close()

    def kill(self):
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        with self.lock:
            conns, self.conns = list(self.conns), set()
        for c in conns:
            _reset(c)

    def served(self):
        with self.lock:
            return len(self.requests)


class BlackHole:
    """A port whose connects never complete: a listening socket with a full
    accept backlog (listen(0) holds one connection; SYNs beyond it are
    dropped), so the proxy's connect times out."""

    def __init__(self):
        self.port, self.sock = bind_retrying(self._listen)
        self.filler = socket.socket()
        self.filler.settimeout(2)
        self.filler.connect(("127.0.0.1", self.port))

    @staticmethod
    def _listen(port):
        return socket.create_server(("127.0.0.1", port), backlog=0)

    def close(self):
        self.filler.close()
        self.sock.close()


def dead_port():
    """A port nothing listens on (connects are refused)."""
    port, sock = bind_retrying(lambda p: BlackHole._listen(p))
    sock.close()
    return port


def read_response(f):
    """(status, body) of one response read from a socket file; None at EOF."""
    line = f.readline()
    if not line:
        return None
    status = int(line.split()[1])
    length, close = 0, False
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        if name.strip().lower() == "connection" and "close" in value.lower():
            close = True
    body = f.read(length) if length else b""
    return status, body, close


class Load:
    """clients threads sending keep-alive GETs to the proxy until stop();
    counts statuses, backends that answered, and failures (any status but
    200, or a connection lost without an answer)."""

    def __init__(self, port, clients=8, host="app.test", path="/"):
        self.port, self.host, self.path = port, host, path
        self.statuses = Counter()
        self.backends = Counter()
        self.errors = 0
        self.lock = threading.Lock()
        self.running = True
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def _run(self):
        req = f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode()
        while self.running:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    f = s.makefile("rb")
                    while self.running:
                        s.sendall(req)
                        got = read_response(f)
                        if got is None:
                            with self.lock:
                                self.errors += 1
                            break
                        status, body, close = got
                        with self.lock:
                            self.statuses[status] += 1
                            if status == 200:
                                self.backends[json.loads(body)["backend"]] += 1
                        if close:
                            break
            except OSError:
                with self.lock:
                    self.errors += 1

    def total(self):
        with self.lock:
            return sum(self.statuses.values())

    def stop(self):
        self.running = False
        for t in self.threads:
            t.join(15)
        return self

    def failed(self):
        return self.errors + sum(n for s, n in self.statuses.items() if s != 200)
