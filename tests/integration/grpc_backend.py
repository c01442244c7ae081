"""Backends for the HTTP/2-upstream and gRPC tests.

GrpcServer  a real gRPC server (python3-grpcio, generic handlers, raw bytes)
            with service t.S: U (unary), SS (server streaming), CS (client
            streaming), B (bidirectional); each call is recorded (metadata,
            whether and when its context went inactive) under the x-tag
            metadata value the client sends, so a test can wait for what the
            server saw.
H2Backend   a small threaded HTTP/2 server on python3-h2 (prior knowledge,
            or TLS with ALPN h2): answers with JSON describing what it
            received (pseudo-headers and headers as sent, body, trailers),
            counts connections and concurrent streams, and on request sends
            trailers, resets streams or sends GOAWAY.
Plus HTTP/1.1 raw-socket helpers and gRPC channel helpers.
"""
import json
import select
import socket
import ssl
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import grpc
import h2.config
import h2.connection
import h2.events
import h2.exceptions

MAX_MSG = 8 * 1024 * 1024
GRPC_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MSG),
    ("grpc.max_receive_message_length", MAX_MSG),
]
CLIENT_OPTIONS = GRPC_OPTIONS + [
    ("grpc.enable_http_proxy", 0),  # never an http_proxy from the environment
    ("grpc.enable_retries", 0),     # one attempt per call: what the proxy did, not a retry
]

# HTTP/2 error codes
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR = 0x0, 0x1, 0x2
REFUSED_STREAM, CANCEL = 0x7, 0x8


# ------------------------------------------------------------------ gRPC

class CallRecord:
    """What the server saw of one call."""

    def __init__(self, method, context):
        self.method = method
        self.metadata = [(k, v) for k, v in context.invocation_metadata()]
        self.time_remaining = context.time_remaining()
        self.started = time.monotonic()
        self.messages = []              # request messages, in arrival order
        self.message_times = []
        self.sent = 0                   # response messages produced
        # the server saw the call end early: its handler found
        # context.is_active() false, or the add_callback callback fired
        # before the handler completed
        self.cancel_seen = threading.Event()
        self.cancel_seen_at = None
        self.terminated = threading.Event()  # the add_callback callback fired
        self.terminated_at = None
        self.completed_normally = False

    def md(self, name):
        return [v for k, v in self.metadata if k == name]

    def saw_cancel(self):
        if not self.cancel_seen.is_set():
            self.cancel_seen_at = time.monotonic()
            self.cancel_seen.set()


class GrpcServer:
    """Service t.S on 127.0.0.1 (a free port chosen by grpc). tls: (cert
    PEM bytes, key PEM bytes) to serve TLS (ALPN h2). The request metadata
    x-mode selects a behaviour (see the handlers)."""

    def __init__(self, tls=None):
        self.records = {}   # x-tag -> CallRecord
        self.lock = threading.Lock()
        self.any_call = threading.Condition(self.lock)
        self.server = grpc.server(ThreadPoolExecutor(max_workers=24), options=GRPC_OPTIONS)
        handler = grpc.method_handlers_generic_handler("t.S", {
            "U": grpc.unary_unary_rpc_method_handler(self._unary),
            "SS": grpc.unary_stream_rpc_method_handler(self._server_stream),
            "CS": grpc.stream_unary_rpc_method_handler(self._client_stream),
            "B": grpc.stream_stream_rpc_method_handler(self._bidi),
        })
        self.server.add_generic_rpc_handlers((handler,))
        if tls:
            creds = grpc.ssl_server_credentials([(tls[1], tls[0])])
            self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        else:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        assert self.port, "grpc server could not bind"
        self.server.start()

    def stop(self):
        self.server.stop(0).wait(5)

    # -- recording
    def _record(self, method, context):
        rec = CallRecord(method, context)
        tag = dict(rec.metadata).get("x-tag", f"untagged-{id(rec)}")

        def done():
            rec.terminated_at = time.monotonic()
            rec.terminated.set()
            if not rec.completed_normally:
                rec.saw_cancel()
        context.add_callback(done)
        with self.lock:
            self.records[tag] = rec
            self.any_call.notify_all()
        return rec

    def record(self, tag, timeout=10):
        """The record of the call tagged `tag`, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while tag not in self.records:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"call {tag!r} never reached the gRPC server; "
                                         f"saw {sorted(self.records)}")
                self.any_call.wait(left)
            return self.records[tag]

    @staticmethod
    def _mode(context):
        return dict(context.invocation_metadata()).get("x-mode", "echo")

    @staticmethod
    def _wait_cancelled(rec, context, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not context.is_active():
                rec.saw_cancel()
                return True
            time.sleep(0.01)
        return False

    # -- handlers
    def _unary(self, request, context):
        rec = self._record("U", context)
        rec.messages.append(request)
        mode = self._mode(context)
        if mode == "notfound":
            context.set_trailing_metadata((("x-err-detail", "missing thing"),))
            context.abort(grpc.StatusCode.NOT_FOUND, request.decode("utf-8"))
        if mode == "slow":
            # runs until the call is cancelled (or 5 s)
            self._wait_cancelled(rec, context, 5.0)
            return b"too late"
        if mode == "reverse":
            rec.completed_normally = True
            return request[::-1]
        context.send_initial_metadata((("x-initial", "init-value"),))
        context.set_trailing_metadata((("x-trailing", "trail-value"),
                                       ("x-trailing-bin", b"\x00\x01\xfe\xff")))
        rec.completed_normally = True
        return b"echo:" + request

    def _server_stream(self, request, context):
        rec = self._record("SS", context)
        rec.messages.append(request)
        mode = self._mode(context)
        if mode == "forever":
            # a tick every 50 ms until the call is cancelled (or 10 s)
            deadline = time.monotonic() + 10
            i = 0
            while time.monotonic() < deadline:
                if not context.is_active():
                    rec.saw_cancel()
                    return
                yield b"tick-%d" % i
                rec.sent += 1
                i += 1
                time.sleep(0.05)
            return
        if mode == "abort":
            for i in range(2):
                yield b"part-%d" % i
                rec.sent += 1
            time.sleep(0.1)
            context.abort(grpc.StatusCode.ABORTED, "boom mid-stream")
        n = int(request.decode())
        for i in range(n):
            yield b"msg-%d-" % i + b"x" * (i * 100)
            rec.sent += 1
        context.set_trailing_metadata((("x-count", str(n)),))
        rec.completed_normally = True

    def _client_stream(self, request_iterator, context):
        rec = self._record("CS", context)
        for m in request_iterator:
            rec.messages.append(m)
            rec.message_times.append(time.monotonic())
        rec.completed_normally = True
        return b"%d:" % len(rec.messages) + b"|".join(rec.messages)

    def _bidi(self, request_iterator, context):
        rec = self._record("B", context)
        for m in request_iterator:
            rec.messages.append(m)
            rec.message_times.append(time.monotonic())
            yield b"re:" + m
            rec.sent += 1
        rec.completed_normally = True


def grpc_channel(port, tls_ca=None, authority="a.test"):
    """A channel to the proxy: TLS (trusting tls_ca PEM bytes, SNI and
    :authority = authority) or h2c prior knowledge when tls_ca is None."""
    opts = CLIENT_OPTIONS + [("grpc.default_authority", authority)]
    if tls_ca is not None:
        creds = grpc.ssl_channel_credentials(root_certificates=tls_ca)
        return grpc.secure_channel(f"127.0.0.1:{port}", creds,
                                   options=opts + [("grpc.ssl_target_name_override", authority)])
    return grpc.insecure_channel(f"127.0.0.1:{port}", options=opts)


def grpc_frame(message, compressed=False):
    """One gRPC length-prefixed message."""
    return bytes((1 if compressed else 0,)) + struct.pack(">I", len(message)) + message


# ------------------------------------------------------- HTTP/2 backend

class H2Request:
    """One request stream as the backend received it."""

    def __init__(self, conn, stream_id):
        self.conn = conn
        self.conn_index = conn.index
        self.stream_id = stream_id
        self.headers = []       # [(name, value)] in wire order, pseudo-headers included
        self.body = bytearray()
        self.trailers = None
        self.ended = False
        self.reset = None       # RST_STREAM code the proxy sent, if any

    def values(self, name):
        return [v for k, v in self.headers if k == name]

    def header(self, name):
        v = self.values(name)
        return v[0] if v else None

    @property
    def path(self):
        return self.header(":path")

    def describe(self):
        return {
            "conn": self.conn_index,
            "stream": self.stream_id,
            "alpn": self.conn.alpn,
            "headers": [[k, v] for k, v in self.headers],
            "body": bytes(self.body).decode("latin-1"),
            "trailers": None if self.trailers is None else [[k, v] for k, v in self.trailers],
        }

    def __repr__(self):
        return (f"<H2Request conn={self.conn_index} stream={self.stream_id} {self.headers} "
                f"body={bytes(self.body[:80])!r} trailers={self.trailers} reset={self.reset}>")


def _fields(pairs):
    return [(k.decode("latin-1") if isinstance(k, bytes) else k,
             v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in pairs]


class H2ServerConn:
    """One accepted connection. A reader thread feeds python3-h2; handlers
    run in their own threads and send through the methods below. Every
    socket operation is made under one lock (a TLS socket is not used by
    two threads at once)."""

    def __init__(self, backend, sock, index):
        self.backend = backend
        self.sock = sock
        self.index = index
        self.alpn = None
        self.h2 = h2.connection.H2Connection(config=h2.config.H2Configuration(
            client_side=False, header_encoding=None,
            # keep what the proxy sent exactly as sent: the tests judge it
            validate_inbound_headers=False, normalize_inbound_headers=False,
            validate_outbound_headers=False, normalize_outbound_headers=False))
        self.cond = threading.Condition()
        self.streams = {}
        self.inflight = 0
        self.draining = False   # we sent GOAWAY: close once the streams we keep are done
        self.closed = False
        self.goaway_from_peer = None

    # -- sending (any thread)
    def _flush(self):
        data = self.h2.data_to_send()
        if data and not self.closed:
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True

    def send_headers(self, sid, headers, end_stream=False):
        with self.cond:
            self.h2.send_headers(sid, headers, end_stream=end_stream)
            self._flush()

    def send_data(self, sid, data, end_stream=True, timeout=20):
        """DATA within the flow-control windows (waits for WINDOW_UPDATE)."""
        data = memoryview(bytes(data))
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if not data:
                    if end_stream:
                        self.h2.end_stream(sid)
                        self._flush()
                    return
                window = self.h2.local_flow_control_window(sid)
                n = min(window, self.h2.max_outbound_frame_size, len(data))
                if n <= 0:
                    left = deadline - time.monotonic()
                    if left <= 0 or self.closed:
                        raise AssertionError(f"backend: no window for stream {sid}")
                    self.cond.wait(min(left, 0.1))
                    continue
                last = n == len(data)
                self.h2.send_data(sid, bytes(data[:n]), end_stream=end_stream and last)
                data = data[n:]
                self._flush()
                if last:
                    return

    def send_trailers(self, sid, trailers):
        self.send_headers(sid, trailers, end_stream=True)

    def send_in_pieces(self, sid, headers, chunks, trailers):
        """HEADERS, one DATA frame per chunk and the trailers, each frame
        written on its own (over TLS: one record each), with TCP_CORK held
        meanwhile so that they all reach the proxy at once. The chunks must
        fit in the flow-control windows."""
        with self.cond:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
            try:
                self.h2.send_headers(sid, headers)
                self._flush()
                for c in chunks:
                    self.h2.send_data(sid, c)
                    self._flush()
                self.h2.send_headers(sid, trailers, end_stream=True)
                self._flush()
            finally:
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)

    def send_response(self, sid, headers, body, trailers=None):
        """A whole response in one write when the windows allow (HEADERS,
        DATA, trailers or END_STREAM arrive together); in pieces otherwise."""
        with self.cond:
            room = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if len(body) <= room:
                self.h2.send_headers(sid, headers)
                self.h2.send_data(sid, bytes(body), end_stream=trailers is None)
                if trailers is not None:
                    self.h2.send_headers(sid, trailers, end_stream=True)
                self._flush()
                return
        self.send_headers(sid, headers)
        self.send_data(sid, body, end_stream=trailers is None)
        if trailers is not None:
            self.send_trailers(sid, trailers)

    def reset(self, sid, code):
        with self.cond:
            self.h2.reset_stream(sid, error_code=code)
            self._flush()

    def goaway(self, last_stream_id, code=NO_ERROR):
        """A GOAWAY written by hand (python3-h2 would refuse to answer the
        streams it keeps after its own GOAWAY); the streams up to
        last_stream_id are still answered, then the connection closes."""
        payload = struct.pack(">II", last_stream_id, code)
        frame = struct.pack(">I", len(payload))[1:] + bytes((7, 0)) + struct.pack(">I", 0) + payload
        with self.cond:
            self.draining = True
            self.sock.sendall(frame)

    def open_stream_ids(self):
        with self.cond:
            return sorted(sid for sid, r in self.streams.items() if r.reset is None)

    def shut(self):
        """Half-close: a FIN after what was sent (the reader goes on
        reading until the proxy closes)."""
        with self.cond:
            if not self.closed:
                try:
                    self.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    # -- receiving (the reader thread)
    def run(self):
        try:
            self.sock.settimeout(10)
            if isinstance(self.sock, ssl.SSLSocket):
                self.sock.do_handshake()
                self.alpn = self.sock.selected_alpn_protocol()
            with self.cond:
                self.h2.initiate_connection()
                self._flush()
            self._read_loop()
        except (OSError, ssl.SSLError) as e:
            self.backend.errors.append(f"conn {self.index}: {e!r}")
        finally:
            with self.cond:
                self.closed = True
                self.cond.notify_all()
            try:
                self.sock.close()
            except OSError:
                pass

    def _read_loop(self):
        while True:
            pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
            if not pending:
                r, _, _ = select.select([self.sock], [], [], 0.05)
                if not r:
                    if self.backend.stopped:
                        return
                    continue
            dispatch = []
            with self.cond:
                try:
                    data = self.sock.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    return
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError as e:
                    self.backend.errors.append(f"conn {self.index}: h2 protocol error {e!r}")
                    self._flush()
                    return
                for ev in events:
                    req = self._event(ev)
                    if req is not None:
                        dispatch.append(req)
                self._flush()
                self.cond.notify_all()
            for req in dispatch:
                threading.Thread(target=self.backend._dispatch, args=(self, req),
                                 daemon=True).start()

    def _event(self, ev):
        if isinstance(ev, h2.events.RequestReceived):
            req = self.streams[ev.stream_id] = H2Request(self, ev.stream_id)
            req.headers = _fields(ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            req = self.streams.get(ev.stream_id)
            if req is not None:
                req.body += ev.data
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            req = self.streams.get(ev.stream_id)
            if req is not None:
                req.trailers = _fields(ev.headers)
        elif isinstance(ev, h2.events.StreamEnded):
            req = self.streams.get(ev.stream_id)
            if req is not None:
                req.ended = True
                return req
        elif isinstance(ev, h2.events.StreamReset):
            req = self.streams.get(ev.stream_id)
            if req is not None:
                req.reset = ev.error_code
            self.backend.resets.append((self.index, ev.stream_id, ev.error_code, time.monotonic()))
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway_from_peer = (ev.error_code, ev.last_stream_id)
        return None


class H2Backend:
    """HTTP/2 server on 127.0.0.1: prior knowledge, or TLS when tls_context
    (a server ssl.SSLContext; ALPN set here to h2 unless it was set). Every
    complete request is passed to handler(conn, req) in its own thread
    (default: echo_handler, whose special paths are listed there)."""

    def __init__(self, handler=None, tls_context=None):
        self.handler = handler or echo_handler
        self.tls_context = tls_context
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []
        self.requests = []
        self.resets = []        # (conn index, stream id, code, time) of RST_STREAM received
        self.errors = []
        self.max_inflight = 0   # most streams in flight on one connection at once
        self.stopped = False
        # behaviour switches for echo_handler
        self.release = threading.Event()   # lets /hold answer
        self.goaway_path = None             # a request for this path triggers GOAWAY
        self.goaway_sent = threading.Event()
        self.refused = set()                # paths already refused once
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def accepted(self):
        return len(self.conns)

    def _accept(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls_context is not None:
                s = self.tls_context.wrap_socket(s, server_side=True, do_handshake_on_connect=False)
            with self.lock:
                conn = H2ServerConn(self, s, len(self.conns))
                self.conns.append(conn)
            threading.Thread(target=conn.run, daemon=True).start()

    def _dispatch(self, conn, req):
        with self.lock:
            self.requests.append(req)
            conn.inflight += 1
            self.max_inflight = max(self.max_inflight, conn.inflight)
        try:
            self.handler(conn, req)
        except Exception as e:  # recorded: a test can show it
            self.errors.append(f"handler {req.path}: {e!r}")
        finally:
            with self.lock:
                conn.inflight -= 1
                last = conn.inflight == 0
            if last and conn.draining:
                conn.shut()

    def paths(self):
        return [r.path for r in self.requests]

    def wait_request(self, path, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in list(self.requests):
                if r.path == path:
                    return r
            time.sleep(0.01)
        raise AssertionError(f"{path} never reached the backend; saw {self.paths()}")

    def stop(self):
        self.stopped = True
        self.release.set()
        try:
            self.sock.close()
        except OSError:
            pass


def echo_response(conn, req, extra_headers=()):
    payload = json.dumps(req.describe()).encode()
    conn.send_headers(req.stream_id, [(":status", "200"), ("content-type", "application/json"),
                                      ("content-length", str(len(payload))),
                                      ("x-backend", "h2")] + list(extra_headers))
    conn.send_data(req.stream_id, payload)


def echo_handler(conn, req):
    """Default behaviour, by path:
      /bytes?n=N     N bytes then the trailer x-sent: N, in one write
      /pieces?n=N    N DATA frames of 10 bytes and a trailer, each frame
                     written on its own (one TLS record each), all at once
      /trailers      200 without content-length, body "hello world" in two
                     DATA frames, then trailers x-trailer-a: 1, x-trailer-b: two
      /slow?s=N      answers after N seconds
      /hold          answers once backend.release is set (10 s at most)
      /reset         RST_STREAM INTERNAL_ERROR instead of a response
      /refuse-once   RST_STREAM REFUSED_STREAM the first time, then answers
      /reset-mid     response head and "partial", then RST_STREAM INTERNAL_ERROR
      backend.goaway_path  (the first time) GOAWAY with the last stream id
                     below this one, which is never answered
      anything else  200 with JSON describing the request"""
    be = conn.backend
    url = urlsplit(req.path or "/")
    q = parse_qs(url.query)
    sid = req.stream_id
    if be.goaway_path and url.path == be.goaway_path and not be.goaway_sent.is_set():
        lower = [s for s in conn.open_stream_ids() if s < sid]
        be.goaway_sent.set()
        conn.goaway(max(lower, default=0))
        return
    if url.path == "/trailers":
        conn.send_headers(sid, [(":status", "200"), ("content-type", "text/plain")])
        conn.send_data(sid, b"hello ", end_stream=False)
        conn.send_data(sid, b"world", end_stream=False)
        conn.send_trailers(sid, [("x-trailer-a", "1"), ("x-trailer-b", "two")])
        return
    if url.path == "/bytes":
        # n bytes and a trailer, all in one write
        n = int(q.get("n", ["1000"])[0])
        conn.send_response(sid, [(":status", "200"), ("content-type", "application/octet-stream")],
                           b"b" * n, trailers=[("x-sent", str(n))])
        return
    if url.path == "/pieces":
        n = int(q.get("n", ["40"])[0])
        conn.send_in_pieces(sid, [(":status", "200"), ("content-type", "text/plain")],
                            [b"piece-%03d;" % i for i in range(n)], [("x-pieces", str(n))])
        return
    if url.path == "/slow":
        time.sleep(float(q.get("s", ["1"])[0]))
    if url.path == "/hold":
        be.release.wait(10)
    if url.path == "/reset":
        conn.reset(sid, INTERNAL_ERROR)
        return
    if url.path == "/refuse-once" and url.path not in be.refused:
        be.refused.add(url.path)
        conn.reset(sid, REFUSED_STREAM)
        return
    if url.path == "/reset-mid":
        conn.send_headers(sid, [(":status", "200"), ("content-type", "text/plain")])
        conn.send_data(sid, b"partial", end_stream=False)
        time.sleep(0.3)
        conn.reset(sid, INTERNAL_ERROR)
        return
    echo_response(conn, req)


def grpc_reset_handler(conn, req):
    """A fake gRPC server: the response head, two messages, then
    RST_STREAM INTERNAL_ERROR instead of trailers."""
    sid = req.stream_id
    conn.send_headers(sid, [(":status", "200"), ("content-type", "application/grpc")])
    conn.send_data(sid, grpc_frame(b"first") + grpc_frame(b"second"), end_stream=False)
    time.sleep(0.3)
    conn.reset(sid, INTERNAL_ERROR)


def h2_tls_context(cert_path, key_path, alpn=("h2",)):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    ctx.set_alpn_protocols(list(alpn))
    return ctx


# ------------------------------------------------- HTTP/1.1 raw client

class H1Response:
    def __init__(self, status, headers, body, trailers, chunked, complete, raw):
        self.status, self.headers, self.body = status, headers, body
        self.trailers, self.chunked, self.complete, self.raw = trailers, chunked, complete, raw

    def values(self, name):
        return [v for k, v in self.headers if k.lower() == name]

    def header(self, name):
        v = self.values(name)
        return v[0] if v else None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return (f"<H1Response {self.status} {self.headers} body={self.body[:200]!r} "
                f"trailers={self.trailers} complete={self.complete}>")


class _Reader:
    def __init__(self, sock):
        self.sock, self.buf, self.raw, self.eof = sock, bytearray(), bytearray(), False

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            chunk = b""
        if not chunk:
            self.eof = True
            raise EOFError
        self.buf += chunk
        self.raw += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        out = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return out

    def exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def rest(self):
        try:
            while True:
                self._fill()
        except EOFError:
            pass
        out = bytes(self.buf)
        self.buf.clear()
        return out


def read_h1_response(sock, head_request=False):
    """Reads one response; complete is False when the connection ended
    before its framing did (a truncated chunked body, for one)."""
    rd = _Reader(sock)
    status, headers, body, trailers, chunked = 0, [], bytearray(), None, False
    try:
        start = rd.line()
        status = int(start.split(b" ")[1])
        while True:
            h = rd.line()
            if not h:
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers.append((k, v.strip()))
        names = {k.lower(): v for k, v in headers}
        if head_request or status in (204, 304):
            pass
        elif names.get("transfer-encoding", "").lower() == "chunked":
            chunked = True
            while True:
                size = int(rd.line().split(b";")[0], 16)
                if size == 0:
                    break
                body += rd.exactly(size)
                rd.exactly(2)
            trailers = []
            while True:
                t = rd.line()
                if not t:
                    break
                k, _, v = t.decode("latin-1").partition(":")
                trailers.append((k, v.strip()))
        elif "content-length" in names:
            body += rd.exactly(int(names["content-length"]))
        else:
            body += rd.rest()
        complete = True
    except (EOFError, ValueError, IndexError):
        complete = False
        body += rd.buf
    return H1Response(status, headers, bytes(body), trailers, chunked, complete, bytes(rd.raw))


def h1_request(port, data, timeout=10):
    """Sends raw request bytes on a new connection, returns the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_h1_response(s)
