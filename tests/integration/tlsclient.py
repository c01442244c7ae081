"""A small HTTPS client on Python's ssl module (Debian's OpenSSL), for tests
that need to see the handshake: protocol, ALPN, session reuse, the peer
certificate, and refusals."""
import socket
import ssl


def context(ca=None, cert=None, key=None, alpn=("http/1.1",), tls_max=None, tls_min=None,
            ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca:
        ctx.load_verify_locations(ca)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if tls_max:
        ctx.maximum_version = tls_max
    if tls_min:
        ctx.minimum_version = tls_min
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


class Response:
    def __init__(self, raw, tls):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines and lines[0] else 0
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.tls = tls


def connect(port, sni, ctx, session=None, timeout=5):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni, session=session)
    except Exception:
        raw.close()
        raise


def request(s, path="/", host=None, close=True):
    """One request on an open TLS socket; returns a Response (reads until
    the body announced by content-length, or until close)."""
    host = host or s.server_hostname
    conn = "close" if close else "keep-alive"
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: {conn}\r\n\r\n".encode())
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep and not close:
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length" and len(body) >= int(v):
                    return Response(data, info(s))
    return Response(data, info(s))


def info(s):
    return {
        "version": s.version(),
        "alpn": s.selected_alpn_protocol(),
        "cipher": s.cipher()[0] if s.cipher() else None,
        "reused": s.session_reused,
    }


def get(port, sni, path="/", host=None, ctx=None, session=None):
    """Connects, makes one request, returns (Response, session)."""
    ctx = ctx or context()
    with connect(port, sni, ctx, session=session) as s:
        r = request(s, path, host)
        return r, s.session


def client_hello(sni="a.test", alpn=None):
    """The bytes of a real ClientHello (from Python's OpenSSL) for sni."""
    ctx = context(alpn=alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def send_raw(port, data, timeout=5, close_write=False):
    """Plain TCP: sends bytes, returns what came back until the peer closed."""
    from backends import raw_request
    return raw_request(port, data, timeout=timeout, close_write=close_write)
