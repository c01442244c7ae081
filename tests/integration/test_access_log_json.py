"""access_log_format = "json" (ours, issue 13 item 6): every line parses with
Python's json module, and its fields say what rpxy's line says for the same
request: the same requests go to a proxy logging rpxy's line and to one
logging JSON, and the lines are compared field by field."""
import codecs
import json
import re
import signal
import time

import pytest

import h2frames as hf
import tlsclient
from backends import raw_request
from h2util import make_pki, tls_config

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
KEYS = ["time", "host", "client", "method", "path", "version", "status", "reason", "target",
        "user_agent", "xff", "forwarded", "upstream"]

# rpxy's line: {host} <- {client} -- {method} {path} {version} -- {status} {reason} --
# {target} "{ua}", "{xff}"[ "{forwarded}"] "{upstream}" (the test's values hold no '", "')
LINE = re.compile(
    rb"(?P<time>\S+) (?P<host>.*?) <- (?P<client>\S*) -- (?P<method>\S*) (?P<path>\S*) "
    rb"(?P<version>HTTP/\S+) -- (?P<status>\d*) ?(?P<reason>.*?) -- (?P<target>\S*) "
    rb"\"(?P<user_agent>.*)\", \"(?P<xff>[^\"]*)\"(?: \"(?P<forwarded>[^\"]*)\")? "
    rb"\"(?P<upstream>[^\"]*)\"")

# How a JSON reader sees a byte that is not UTF-8: the character of its value.
codecs.register_error("json_u00", lambda e: (e.object[e.start:e.end].decode("latin-1"), e.end))

WEIRD_UAS = [
    b'quote " and \\ backslash',
    b"latin1 \xe9\xff and \xc3( cut",
    b"utf8 \xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80",
    b"tab\there",
    b"c1 \xc2\x85 and \xc2\x9b[31m",
]


def unescape_line(text):
    """A field of rpxy's line as a str: its \\xHH escapes back to bytes, then
    UTF-8 with the bytes that are not read as JSON's \\u00XX reads them."""
    raw = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text)
    return raw.decode("utf-8", "json_u00")


def line_fields(line):
    m = LINE.fullmatch(line)
    assert m, line
    f = {k: (unescape_line(v) if v is not None else "") for k, v in m.groupdict().items()}
    f["status"] = int(f["status"])
    return f


def wait_lines(path, n, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            break
        time.sleep(0.05)
    return path.read_bytes().splitlines()


def json_line(raw):
    """One JSON line: valid UTF-8, no control byte, parses, all keys in order."""
    assert all(b >= 0x20 and b != 0x7f for b in raw), raw
    obj = json.loads(raw.decode("utf-8"))
    assert list(obj) == KEYS, raw
    assert re.fullmatch(TS, obj["time"]), raw
    return obj


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_request(port, sni, data, pki):
    ctx = tlsclient.context(ca=pki["ca"])
    with tlsclient.connect(port, sni, ctx) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def drive(p, pki):
    """The requests, in order, each on its own connection; returns how many
    access lines they make."""
    n = 0

    def h1(data):
        nonlocal n
        assert raw_request(p.port, data).startswith(b"HTTP/1.1 "), data
        n += 1

    h1(b"GET /reset?token=abc&email=a@b.com&flag HTTP/1.1\r\nHost: plain.test:8080\r\n"
       b"User-Agent: Mozilla/5.0\r\nX-Forwarded-For: 10.0.0.1\r\n"
       b"Forwarded: for=10.0.0.1\r\nConnection: close\r\n\r\n")
    h1(b"GET http://plain.test/abs?x=1 HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n")
    h1(b"GET /none HTTP/1.1\r\nHost: nope\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: close\r\n\r\n")
    # a synthetic 400: the URI's host is not the Host header's
    h1(b"GET http://other.test/bad?z=9 HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n")
    for ua in WEIRD_UAS:
        h1(b"GET /ua?q=" + str(n).encode() + b" HTTP/1.1\r\nHost: plain.test\r\nUser-Agent: " + ua +
           b"\r\nConnection: close\r\n\r\n")
    assert tls_request(p.tls_port, "a.test", b"GET /tls?k=v HTTP/1.1\r\nHost: a.test\r\n"
                       b"User-Agent: tls \"client\"\r\nConnection: close\r\n\r\n",
                       pki).startswith(b"HTTP/1.1 200")
    n += 1
    with hf.H2Conn.tls(p.tls_port, "a.test") as c:
        assert c.get("/h2?a=b", authority="a.test", scheme="https",
                     headers=[("user-agent", "h2 \"x\" \\ \u00e9")]).status == 200
    n += 1
    with hf.H2Conn.plain(p.port) as c:
        assert c.get("/nothing", authority="routes.test").status == 404
    n += 1
    return n


def start_pair(start_proxy, backend, pki, tmp_path, extra=""):
    line = start_proxy(tls_config(pki, backend, extra_global=f"worker_threads = 1\n{extra}"),
                       log_dir=tmp_path / "line")
    js = start_proxy(tls_config(pki, backend, extra_global=f"worker_threads = 1\n{extra}\n"
                                "access_log_format = \"json\""), log_dir=tmp_path / "json")
    return line, js


@pytest.mark.parametrize("redact", [False, True])
def test_json_fields_equal_rpxy_line(pki, backend, start_proxy, tmp_path, redact):
    extra = "redact_query_in_access_log = true" if redact else ""
    line_p, json_p = start_pair(start_proxy, backend, pki, tmp_path, extra)
    n = drive(line_p, pki)
    assert drive(json_p, pki) == n
    lines = wait_lines(tmp_path / "line" / "access.log", n)
    objs = [json_line(raw) for raw in wait_lines(tmp_path / "json" / "access.log", n)]
    assert len(lines) == n and len(objs) == n
    for raw, obj in zip(lines, objs):
        want = line_fields(raw)
        got = dict(obj)
        # the two proxies differ only in the client's port and the time
        assert got["client"].rsplit(":", 1)[0] == want["client"].rsplit(":", 1)[0], raw
        for k in ("time", "client"):
            del got[k], want[k]
        assert got == want, (raw, obj)

    by_path = {o["path"].split("?")[0]: o for o in objs}
    first = by_path["/reset"]
    if redact:
        assert first["path"] == "/reset?token=<redacted>&email=<redacted>&<redacted>"
        assert first["upstream"].endswith("/reset?token=<redacted>&email=<redacted>&<redacted>")
    else:
        assert first["path"] == "/reset?token=abc&email=a@b.com&flag"
    assert first["forwarded"] == "for=10.0.0.1" and first["xff"] == "127.0.0.1"
    assert first["status"] == 200 and first["reason"] == "OK" and first["host"] == "plain.test:8080"
    assert first["client"].startswith("127.0.0.1:")
    assert by_path["/abs"]["target"] == "http://plain.test/abs"
    assert by_path["/none"]["status"] == 503 and by_path["/none"]["reason"] == "Service Unavailable"
    assert by_path["/none"]["forwarded"] == "" and by_path["/none"]["upstream"] == ""
    assert by_path["/bad"]["status"] == 400 \
        and by_path["/bad"]["reason"] == "Bad Request"
    assert by_path["/tls"]["user_agent"] == 'tls "client"' and by_path["/tls"]["version"] == "HTTP/1.1"
    assert by_path["/h2"]["version"] == "HTTP/2.0"
    assert by_path["/h2"]["target"] == "https://a.test/h2"
    assert by_path["/nothing"]["status"] == 404
    uas = [o["user_agent"] for o in objs if o["path"].startswith("/ua")]
    assert uas == [ua.decode("utf-8", "json_u00") for ua in WEIRD_UAS]


def test_json_access_line_on_stdout(pki, backend, start_proxy):
    p = start_proxy(tls_config(pki, backend, extra_global='access_log_format = "json"'))
    raw_request(p.port, b"GET /out?x=\"1\" HTTP/1.1\r\nHost: plain.test\r\n"
                        b"User-Agent: a\tb\xff\r\nConnection: close\r\n\r\n")
    text = p.wait_log(r'^\{"time":".*"path":"/out')
    objs = [json_line(line.encode()) for line in text.splitlines() if line.startswith("{")]
    assert len(objs) == 1, text
    assert objs[0]["path"] == '/out?x="1"' and objs[0]["user_agent"] == "a\tb\u00ff"
    assert objs[0]["status"] == 200 and objs[0]["host"] == "plain.test"
    # system lines keep their shape: the JSON object is the whole line
    assert re.search(rf"^{TS}  INFO ", text, re.M)
    assert not re.search(r"INFO \{", text)


def test_reload_switches_the_format(backend, start_proxy):
    cfg = f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
"""
    p = start_proxy(cfg)
    raw_request(p.port, b"GET /before HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    p.wait_log(r"INFO app\.test <- .* GET /before ")
    p.path.write_text('access_log_format = "json"\n' + p.path.read_text())
    p.proc.send_signal(signal.SIGHUP)
    p.wait_log(r"INFO Configuration updated\.")
    raw_request(p.port, b"GET /after HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    text = p.wait_log(r'^\{"time":.*"path":"/after"')
    objs = [json_line(li.encode()) for li in text.splitlines() if li.startswith("{")]
    assert [o["path"] for o in objs] == ["/after"], text
    assert not re.search(r"GET /after HTTP", text)
    p.path.write_text(p.path.read_text().replace('access_log_format = "json"\n', ""))
    p.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and p.log().count("Configuration updated.") < 2:
        time.sleep(0.05)
    raw_request(p.port, b"GET /again HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    p.wait_log(r"INFO app\.test <- .* GET /again ")
