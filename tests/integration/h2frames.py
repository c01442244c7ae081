"""HTTP/2 on the wire for the h2 tests (RFC 9113, RFC 7541).

Frame builders, a tiny HPACK encoder for the blocks a library would refuse to
write, and H2Conn: a client connection that sends exactly the frames a test
asks for (invalid ones included) and reads the server's frames, keeping per
stream the response headers, body, trailers and RST_STREAM code, and the
GOAWAY frames and SETTINGS of the connection. Flow control is honoured in
both directions (request bodies wait for WINDOW_UPDATE; received DATA is
credited back at once) so large bodies work.
"""
import json
import socket
import ssl
import struct
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# frame types
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)

# flags
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# error codes
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
SETTINGS_TIMEOUT = 0x4
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
CONNECT_ERROR = 0xa
ENHANCE_YOUR_CALM = 0xb
INADEQUATE_SECURITY = 0xc
HTTP_1_1_REQUIRED = 0xd

# settings identifiers
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

DEFAULT_WINDOW = 65535


# ---------------------------------------------------------------- frames

def frame(ftype, flags, stream_id, payload=b""):
    """One frame: 24-bit length, type, flags, 31-bit stream id, payload."""
    return (struct.pack(">I", len(payload))[1:] + bytes((ftype, flags))
            + struct.pack(">I", stream_id & 0x7FFFFFFF) + bytes(payload))


def settings_frame(pairs=(), ack=False):
    payload = b"".join(struct.pack(">HI", k, v) for k, v in pairs)
    return frame(SETTINGS, ACK if ack else 0, 0, payload)


def ping_frame(data=b"\0" * 8, ack=False):
    return frame(PING, ACK if ack else 0, 0, data)


def rst_frame(stream_id, code):
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", code))


def window_update_frame(stream_id, increment):
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", increment))


def goaway_frame(last_stream_id, code, debug=b""):
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_stream_id, code) + debug)


def data_frame(stream_id, data=b"", end_stream=False):
    return frame(DATA, END_STREAM if end_stream else 0, stream_id, data)


# ------------------------------------------------------- HPACK by hand

def hpack_int(value, prefix_bits, first_byte=0):
    """RFC 7541 5.1 integer with an N-bit prefix; first_byte carries the
    representation's high bits."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first_byte | value,))
    out = bytearray((first_byte | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_str(s):
    """A string literal, not Huffman coded."""
    b = s.encode("latin-1") if isinstance(s, str) else bytes(s)
    return hpack_int(len(b), 7) + b


def hpack_literal(name, value, index=False):
    """Literal field with a literal name: with incremental indexing (adds it
    to the decoder's dynamic table) or without indexing."""
    return (b"\x40" if index else b"\x00") + hpack_str(name) + hpack_str(value)


def hpack_indexed(index):
    """Indexed field: static table 1..61, dynamic table from 62."""
    return hpack_int(index, 7, 0x80)


# ------------------------------------------------------------ received

class Frame:
    def __init__(self, ftype, flags, stream_id, payload):
        self.type, self.flags, self.stream_id, self.payload = ftype, flags, stream_id, payload

    @property
    def error_code(self):
        if self.type == RST_STREAM:
            return struct.unpack(">I", self.payload[:4])[0]
        if self.type == GOAWAY:
            return struct.unpack(">I", self.payload[4:8])[0]
        return None

    @property
    def last_stream_id(self):
        return struct.unpack(">I", self.payload[:4])[0] & 0x7FFFFFFF

    def settings(self):
        return dict(struct.unpack(">HI", self.payload[i:i + 6])
                    for i in range(0, len(self.payload) - 5, 6))

    def __repr__(self):
        extra = ""
        if self.type in (RST_STREAM, GOAWAY):
            extra = f" error={self.error_code}"
        if self.type == GOAWAY:
            extra += f" last={self.last_stream_id} debug={self.payload[8:]!r}"
        return f"<Frame type={self.type} flags={self.flags:#x} stream={self.stream_id} len={len(self.payload)}{extra}>"


class Stream:
    """What the server sent on one stream."""

    def __init__(self, sid):
        self.id = sid
        self.headers = None      # final response fields, [(name, value)]
        self.informational = []  # 1xx header lists
        self.body = bytearray()
        self.trailers = None
        self.reset = None        # RST_STREAM error code
        self.ended = False       # END_STREAM seen
        self.send_window = DEFAULT_WINDOW

    @property
    def done(self):
        return self.ended or self.reset is not None

    @property
    def status(self):
        v = self.header(":status")
        return int(v) if v is not None else None

    def header(self, name):
        for k, v in self.headers or ():
            if k == name:
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers or () if k == name]

    def json(self):
        return json.loads(bytes(self.body))

    def __repr__(self):
        return (f"<Stream {self.id} headers={self.headers} body={bytes(self.body[:200])!r} "
                f"trailers={self.trailers} reset={self.reset} ended={self.ended}>")


class ConnectionEnded(AssertionError):
    pass


class H2Conn:
    """A client HTTP/2 connection over a plain or TLS socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 26
        self.streams = {}
        self.next_id = 1
        self.frames = []          # every frame received, in order
        self.goaways = []
        self.server_settings = None   # first SETTINGS from the server
        self.settings_acks = 0        # ACKs of our SETTINGS received
        self.peer_initial_window = DEFAULT_WINDOW
        self.peer_max_frame = 16384
        self.send_window = DEFAULT_WINDOW
        self.closed = False
        self.auto_ping = True
        self.auto_window = True
        self._block = None        # (stream id, flags, bytes) of an unfinished header block

    # -- opening
    @classmethod
    def plain(cls, port, timeout=5, handshake=True, settings=()):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as real clients do
        c = cls(s)
        if handshake:
            c.handshake(settings)
        return c

    @classmethod
    def tls(cls, port, sni, alpn=("h2",), timeout=5, handshake=True, settings=()):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            s = ctx.wrap_socket(raw, server_hostname=sni)
        except Exception:
            raw.close()
            raise
        c = cls(s)
        if handshake:
            c.handshake(settings)
        return c

    def handshake(self, settings=(), timeout=5):
        """Preface and our SETTINGS; returns once the server's SETTINGS came."""
        self.send(PREFACE + settings_frame(settings))
        self.wait(lambda: self.server_settings is not None, timeout,
                  what="the server's SETTINGS")
        return self.server_settings

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sending
    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, ftype, flags, stream_id, payload=b""):
        self.send(frame(ftype, flags, stream_id, payload))

    def new_stream(self):
        sid = self.next_id
        self.next_id += 2
        return sid

    def stream(self, sid):
        st = self.streams.get(sid)
        if st is None:
            st = self.streams[sid] = Stream(sid)
            st.send_window = self.peer_initial_window
        return st

    def encode(self, headers):
        """HPACK block for (name, value) pairs, written as given (no case
        folding, no validation)."""
        return self.encoder.encode([(k, v) for k, v in headers], huffman=False)

    def headers_frames(self, sid, headers, end_stream=True, block=None):
        """HEADERS (+ CONTINUATION when the block is larger than a frame)."""
        block = self.encode(headers) if block is None else block
        self.stream(sid)
        size = self.peer_max_frame
        parts = [block[i:i + size] for i in range(0, len(block), size)] or [b""]
        out = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if i == 0:
                flags = (END_STREAM if end_stream else 0) | (END_HEADERS if last else 0)
                out.append(frame(HEADERS, flags, sid, part))
            else:
                out.append(frame(CONTINUATION, END_HEADERS if last else 0, sid, part))
        return b"".join(out)

    def send_headers(self, sid, headers, end_stream=True, block=None):
        self.send(self.headers_frames(sid, headers, end_stream, block))

    def request_headers(self, method="GET", path="/", authority="app.test", scheme="http",
                        headers=()):
        h = [(":method", method), (":scheme", scheme)]
        if authority is not None:
            h.append((":authority", authority))
        h.append((":path", path))
        return h + list(headers)

    def request(self, method="GET", path="/", authority="app.test", scheme="http", headers=(),
                body=None, trailers=None, end_stream=True):
        """Opens a stream and sends a whole request; returns its id."""
        sid = self.new_stream()
        h = self.request_headers(method, path, authority, scheme, headers)
        no_body = body is None and trailers is None
        self.send_headers(sid, h, end_stream=no_body and end_stream)
        if body is not None:
            self.send_body(sid, body, end_stream=trailers is None and end_stream)
        if trailers is not None:
            self.send_headers(sid, trailers, end_stream=True)
        return sid

    def send_body(self, sid, data, end_stream=True, timeout=10):
        """DATA frames within the flow-control windows, waiting for
        WINDOW_UPDATE when they are used up."""
        st = self.stream(sid)
        data = memoryview(bytes(data))
        deadline = time.monotonic() + timeout
        while True:
            room = min(self.send_window, st.send_window, self.peer_max_frame, len(data))
            if room <= 0 and len(data) > 0:
                if st.done or self.closed:
                    raise ConnectionEnded(f"stream {sid} ended while sending its body: {st}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no WINDOW_UPDATE for stream {sid} in {timeout}s")
                self.read_frame(left)
                continue
            chunk, data = data[:room], data[room:]
            last = len(data) == 0
            self.send(data_frame(sid, chunk, end_stream and last))
            self.send_window -= len(chunk)
            st.send_window -= len(chunk)
            if last:
                return

    # -- receiving
    def _recv(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            chunk = b""
        except ssl.SSLZeroReturnError:
            chunk = b""
        if not chunk:
            self.closed = True
        return chunk

    def read_frame(self, timeout=5):
        """The next frame (after handling it), or None once the server closed.
        Raises socket.timeout when nothing complete arrived in time."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + length:
                    ftype, flags = self.buf[3], self.buf[4]
                    sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
                    payload = bytes(self.buf[9:9 + length])
                    del self.buf[:9 + length]
                    f = Frame(ftype, flags, sid, payload)
                    self.frames.append(f)
                    self._handle(f)
                    return f
            if self.closed:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no complete frame")
            try:
                chunk = self._recv(left)
            except socket.timeout:
                raise
            self.buf += chunk

    def _reply(self, data):
        try:
            self.send(data)
        except OSError:
            pass

    def _handle(self, f):
        if f.type == SETTINGS:
            if f.flags & ACK:
                self.settings_acks += 1
                return
            values = f.settings()
            if self.server_settings is None:
                self.server_settings = values
            else:
                self.server_settings.update(values)
            if SETTINGS_INITIAL_WINDOW_SIZE in values:
                delta = values[SETTINGS_INITIAL_WINDOW_SIZE] - self.peer_initial_window
                self.peer_initial_window = values[SETTINGS_INITIAL_WINDOW_SIZE]
                for st in self.streams.values():
                    st.send_window += delta
            if SETTINGS_MAX_FRAME_SIZE in values:
                self.peer_max_frame = values[SETTINGS_MAX_FRAME_SIZE]
            if SETTINGS_HEADER_TABLE_SIZE in values:
                self.encoder.header_table_size = min(values[SETTINGS_HEADER_TABLE_SIZE], 4096)
            self._reply(settings_frame(ack=True))
        elif f.type == PING:
            if not f.flags & ACK and self.auto_ping:
                self._reply(ping_frame(f.payload, ack=True))
        elif f.type == WINDOW_UPDATE:
            inc = struct.unpack(">I", f.payload[:4])[0] & 0x7FFFFFFF
            if f.stream_id == 0:
                self.send_window += inc
            else:
                self.stream(f.stream_id).send_window += inc
        elif f.type == GOAWAY:
            self.goaways.append(f)
        elif f.type == RST_STREAM:
            self.stream(f.stream_id).reset = f.error_code
        elif f.type == DATA:
            st = self.stream(f.stream_id)
            payload = f.payload
            if f.flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            st.body += payload
            if f.flags & END_STREAM:
                st.ended = True
            if self.auto_window and len(f.payload):
                self._reply(window_update_frame(0, len(f.payload))
                            + (b"" if st.ended else window_update_frame(f.stream_id, len(f.payload))))
        elif f.type == HEADERS:
            payload = f.payload
            if f.flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            if f.flags & PRIORITY_FLAG:
                payload = payload[5:]
            self._block = (f.stream_id, f.flags, bytearray(payload))
            if f.flags & END_HEADERS:
                self._finish_block()
        elif f.type == CONTINUATION:
            if self._block is not None:
                self._block[2].extend(f.payload)
                if f.flags & END_HEADERS:
                    self._finish_block()

    def _finish_block(self):
        sid, flags, block = self._block
        self._block = None
        # raw: values that are not UTF-8 are shown (latin-1), not an exception
        fields = [(k.decode("latin-1"), v.decode("latin-1"))
                  for k, v in self.decoder.decode(bytes(block), raw=True)]
        st = self.stream(sid)
        status = next((v for k, v in fields if k == ":status"), None)
        if st.headers is None and status is not None and status.startswith("1"):
            st.informational.append(fields)
        elif st.headers is None:
            st.headers = fields
        else:
            st.trailers = fields
        if flags & END_STREAM:
            st.ended = True

    def wait(self, cond, timeout=5, what="condition"):
        """Reads frames until cond() holds; AssertionError on timeout, or when
        the server closes first."""
        deadline = time.monotonic() + timeout
        while not cond():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timeout waiting for {what}; frames: {self.frames[-20:]}")
            try:
                f = self.read_frame(left)
            except socket.timeout:
                continue
            if f is None and not cond():
                raise ConnectionEnded(f"connection closed waiting for {what}; "
                                      f"goaways={self.goaways} frames: {self.frames[-20:]}")
        return True

    def response(self, sid, timeout=5):
        """Reads until stream sid ended or was reset; returns its Stream."""
        st = self.stream(sid)
        self.wait(lambda: st.done, timeout, what=f"stream {sid}")
        return st

    def responses(self, sids, timeout=10):
        sts = [self.stream(s) for s in sids]
        self.wait(lambda: all(s.done for s in sts), timeout, what=f"streams {sids}")
        return sts

    def wait_end(self, timeout=5):
        """Reads until the server sent a GOAWAY or closed; returns
        ("goaway", frame), ("closed", None) or ("open", None) on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if self.goaways:
                return "goaway", self.goaways[0]
            if self.closed:
                return "closed", None
            left = deadline - time.monotonic()
            if left <= 0:
                return "open", None
            try:
                self.read_frame(left)
            except socket.timeout:
                pass
            except OSError:
                self.closed = True

    def drain_until_closed(self, timeout=5):
        """Reads (and handles) frames until the server closes; True if it did."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self.read_frame(left)
            except socket.timeout:
                pass
            except OSError:
                self.closed = True
        return True

    def get(self, path="/", authority="app.test", scheme="http", headers=(), timeout=5):
        """One GET on a new stream; returns its Stream."""
        return self.response(self.request("GET", path, authority, scheme, headers), timeout)


def headers_dict(info):
    """Echo-backend JSON headers as {lower-case name: [values]}."""
    out = {}
    for k, v in info["headers"]:
        out.setdefault(k.lower(), []).append(v)
    return out
