"""A scripted origin for the cache tests: each path answers what the test
set with CacheOrigin.set() (status, fields, body, chunked or not, a delay),
and every request is counted, so a test can tell a hit from a miss."""
import collections
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from backends import bind_retrying


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _handle(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n:
            self.rfile.read(n)
        origin = self.server.origin
        with origin.lock:
            origin.hits[self.path] += 1
            origin.seen.append((self.command, self.path, dict(self.headers.items())))
            spec = origin.routes.get(self.path.split("?")[0] if self.path not in origin.routes
                                     else self.path)
        if spec is None:
            spec = {"status": 200, "fields": [("Cache-Control", "max-age=60")], "body": None}
        if spec.get("delay"):
            time.sleep(spec["delay"])
        body = spec["body"]
        if body is None:
            body = f"{self.path} #{origin.hits[self.path]}".encode()
        self.send_response(spec["status"])
        for k, v in spec["fields"]:
            self.send_header(k, v)
        head_only = self.command == "HEAD" or spec["status"] in (204, 304)
        if spec.get("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if not head_only:
                step = spec.get("step", 16384)
                for i in range(0, len(body), step):
                    part = body[i:i + step]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    if spec.get("pace"):
                        time.sleep(spec["pace"])
                if spec.get("truncate"):
                    self.close_connection = True
                    return
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                origin.done_at[self.path] = time.monotonic()
            return
        if spec["status"] not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = do_PUT = _handle


class CacheOrigin:
    def __init__(self):
        self.routes = {}
        self.hits = collections.Counter()
        self.done_at = {}  # path -> when a chunked body was last written in full
        self.seen = []
        self.lock = threading.Lock()

        def make(port):
            return ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.port, self.server = bind_retrying(make)
        self.server.daemon_threads = True
        self.server.origin = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, path, status=200, fields=(("Cache-Control", "max-age=60"),), body=None,
            **opts):
        """What path answers; body None: "<path> #<n>" (n counts the requests)."""
        with self.lock:
            self.routes[path] = dict(status=status, fields=list(fields), body=body, **opts)

    def count(self, path):
        with self.lock:
            return self.hits[path]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
