"""The admin listener (ours, `admin_listen`): /metrics in the Prometheus text
format (accepted by `promtool check metrics`) with the per-worker counters
summed, /healthz, and nothing else; the key's errors; a port in use."""
import calendar
import re
import time
import signal
import socket
import ssl
import subprocess
import threading

from cryptography import x509

import tls_app
import tlsclient
from backends import raw_request
from conftest import free_port, run_rpxy


def admin_config(admin_port, backend_port, extra=""):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
worker_threads = 2
admin_listen = "127.0.0.1:{admin_port}"
{extra}
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend_port}" }}] }}]
"""


def get(port, path, method="GET", host="admin"):
    return raw_request(port, f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
                             f"Connection: close\r\n\r\n".encode())


def scrape(admin_port):
    """The /metrics body after promtool accepted it; {series: value}."""
    resp = get(admin_port, "/metrics")
    head, _, body = resp.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n" in head
    check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    series = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


def scrape_once_counted(admin_port, series, want):
    """A scrape once series reached want: a request is counted when its
    exchange ends, just after its last bytes were written, so a scrape
    sent at once may come a moment before the count (5 s at most)."""
    deadline = time.monotonic() + 5
    m = scrape(admin_port)
    while m.get(series, 0) < want and time.monotonic() < deadline:
        time.sleep(0.05)
        m = scrape(admin_port)
    return m


def open_conns(m, listener):
    """rpxy_connections_open of a listener, {protocol: count}, or {} when
    all are 0."""
    got = {}
    for k, v in m.items():
        mt = re.fullmatch(rf'rpxy_connections_open\{{listener="{listener}",protocol="([^"]+)"\}}', k)
        if mt:
            got[mt.group(1)] = v
    return got if any(got.values()) else {}


def test_metrics_sum_every_worker_and_pass_promtool(backend, start_proxy):
    admin = free_port()
    p = start_proxy(admin_config(admin, backend.port))
    for _ in range(6):  # separate connections: both workers take some
        assert get(p.port, "/a", host="app.test").startswith(b"HTTP/1.1 200")
    assert get(p.port, "/a", method="HEAD", host="app.test").startswith(b"HTTP/1.1 200")
    for _ in range(2):
        assert get(p.port, "/", host="nobody.test").startswith(b"HTTP/1.1 503")
    h2 = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                         "--http2-prior-knowledge", "-H", "Host: app.test",
                         f"http://127.0.0.1:{p.port}/h2"], capture_output=True, text=True)
    assert h2.stdout == "200"
    m = scrape_once_counted(admin, 'rpxy_request_duration_seconds_count{protocol="h2"}', 1)
    assert m['rpxy_requests_total{app="app",protocol="http/1.1",code="2xx"}'] == 7
    assert m['rpxy_requests_total{app="",protocol="http/1.1",code="5xx"}'] == 2
    assert m['rpxy_requests_total{app="app",protocol="h2",code="2xx"}'] == 1
    assert m['rpxy_request_duration_seconds_count{protocol="http/1.1"}'] == 9
    assert m['rpxy_request_duration_seconds_bucket{protocol="http/1.1",le="+Inf"}'] == 9
    # 10 requests and start_proxy's readiness probe
    assert m['rpxy_connections_total{listener="http"}'] == 11
    assert m['rpxy_received_bytes_total{listener="http"}'] > 9 * 40
    assert m['rpxy_sent_bytes_total{listener="http"}'] > 9 * 100
    assert m["rpxy_workers"] == 2 and m["rpxy_apps"] == 1
    assert m[f'rpxy_upstream_healthy{{app="app",path="/",upstream="127.0.0.1:{backend.port}"}}'] == 1
    assert m['rpxy_config_reloads_total{result="success"}'] == 0
    # every client closed: the gauges come back to 0 (curl's close is seen a little later)
    deadline = time.monotonic() + 5
    while open_conns(m, "http") and time.monotonic() < deadline:
        time.sleep(0.05)
        m = scrape(admin)
    assert open_conns(m, "http") == {}
    # upstream connections: opened, and the idle pool (a gauge refreshed every second)
    up = f'{{upstream="127.0.0.1:{backend.port}"}}'
    assert m["rpxy_upstream_connections_total" + up] >= 1
    assert m["rpxy_upstream_connections_open" + up] <= m["rpxy_upstream_connections_total" + up]
    deadline = time.monotonic() + 5
    while m["rpxy_upstream_connections_idle" + up] < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
        m = scrape(admin)
    assert 1 <= m["rpxy_upstream_connections_idle" + up] <= m["rpxy_upstream_connections_open" + up]

    # reloads and their result
    p.signal(signal.SIGHUP)
    p.wait_log(r"Configuration updated\.")
    p.path.write_text(p.path.read_text() + "bogus = 1\n")
    p.wait_log(r"rpxy failed to be ready\. Configuration does not updated")
    m = scrape(admin)
    assert m['rpxy_config_reloads_total{result="success"}'] == 1
    assert m['rpxy_config_reloads_total{result="failure"}'] == 1
    # a reload keeps the counts (app slots are stable)
    assert m['rpxy_requests_total{app="app",protocol="http/1.1",code="2xx"}'] == 7


def test_open_connections_by_protocol(backend, start_proxy):
    """rpxy_connections_open{listener,protocol}: an HTTP/1.1 keep-alive
    connection, an HTTP/2 one and one that has sent nothing yet (protocol
    "none") while they are open, none once they are closed."""
    import h2frames as h2f
    admin = free_port()
    p = start_proxy(admin_config(admin, backend.port))
    h1 = socket.create_connection(("127.0.0.1", p.port))
    h1.sendall(b"GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n")
    assert h1.recv(65536).startswith(b"HTTP/1.1 200")
    h2 = h2f.H2Conn.plain(p.port)
    assert dict(h2.response(h2.request(path="/b")).headers)[":status"] == "200"
    quiet = socket.create_connection(("127.0.0.1", p.port))
    want = {"http/1.1": 1, "h2": 1, "none": 1}
    deadline = time.monotonic() + 5
    while (got := open_conns(scrape(admin), "http")) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got == want
    for s in (h1, quiet):
        s.close()
    h2.close()
    deadline = time.monotonic() + 5
    while (got := open_conns(scrape(admin), "http")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got == {}


def test_upstream_connections_by_upstream(backend, start_proxy):
    """The upstream connection counts are per upstream (labelled with its
    location, as rpxy_upstream_healthy): an upstream no request went to has
    no series; once one did, its own."""
    from backends import EchoBackend
    other = EchoBackend("b1")
    try:
        admin = free_port()
        p = start_proxy(admin_config(admin, backend.port) + f"""
[apps.second]
server_name = "second.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{other.port}" }}] }}]
""")
        first = f'{{upstream="127.0.0.1:{backend.port}"}}'
        second = f'{{upstream="127.0.0.1:{other.port}"}}'
        for _ in range(3):
            assert get(p.port, "/", host="app.test").startswith(b"HTTP/1.1 200")
        m = scrape(admin)
        assert m["rpxy_upstream_connections_total" + first] >= 1
        assert "rpxy_upstream_connections_total" + second not in m
        assert get(p.port, "/", host="second.test").startswith(b"HTTP/1.1 200")
        m = scrape(admin)
        assert m["rpxy_upstream_connections_total" + second] == 1
        assert m["rpxy_upstream_connections_open" + second] <= 1
    finally:
        other.stop()


def test_tls_handshakes_and_certificate_expiry(backend, start_proxy, tmp_path):
    admin = free_port()
    pki = tls_app.make_pki(tmp_path)
    p = start_proxy(tls_app.config(pki, backend).replace(
        'listen_address_v4 = "127.0.0.1"',
        f'listen_address_v4 = "127.0.0.1"\nadmin_listen = "127.0.0.1:{admin}"'))
    r, _ = tlsclient.get(p.tls_port, "a.test", ctx=tlsclient.context(ca=pki["ca"]))
    assert r.status == 200
    try:
        tlsclient.get(p.tls_port, "unknown.test", ctx=tlsclient.context())
    except (ssl.SSLError, OSError):
        pass
    p.wait_log(r'failure="unknown_sni"')
    m = scrape(admin)
    assert m['rpxy_tls_handshakes_total{listener="https",version="TLSv1.3",group="X25519"}'] == 1
    assert m['rpxy_tls_handshake_failures_total{listener="https",reason="unknown_sni"}'] == 1
    assert m['rpxy_tls_handshake_failures_total{listener="quic",reason="unknown_sni"}'] == 0
    assert m['rpxy_connections_total{listener="https"}'] == 2
    leaf = x509.load_pem_x509_certificate(open(pki["a.test"][0], "rb").read())
    assert m['rpxy_certificate_expiry_timestamp_seconds{server_name="a.test"}'] == \
        calendar.timegm(leaf.not_valid_after.utctimetuple())


def test_http3_connections_bytes_and_handshakes(backend, start_proxy, tmp_path):
    """QUIC is counted like the TCP listeners: its requests, connections,
    stream bytes both ways, and its TLS handshakes and their failures under
    listener="quic" (the same OpenSSL handshake as TCP's)."""
    import h3util
    import quic_initial as qi
    from test_h3_transport import client_hello, udp_exchange
    admin = free_port()
    p = start_proxy(h3util.h3_config(h3util.make_pki(tmp_path), backend,
                                     extra=f'admin_listen = "127.0.0.1:{admin}"'))
    upload = tmp_path / "upload"
    upload.write_bytes(b"u" * 20_000)
    rc, out = h3util.gtlsclient(p.tls_port, f"https://localhost:{p.tls_port}/m",
                                args=["--no-quic-dump", f"--data={upload}"])
    assert re.search(r"\[:status: 200\]", out), out[-2000:]
    dcid, scid = qi.new_ids()
    udp_exchange(p.tls_port, qi.client_initial(dcid, scid, qi.crypto_frame(client_hello())))
    p.wait_log(r"WARN HTTP/3 no SNI is given")
    dcid, scid = qi.new_ids()
    udp_exchange(p.tls_port, qi.client_initial(dcid, scid,
                                               qi.crypto_frame(client_hello("nobody.test"))))
    p.wait_log(r'failure="unknown_sni"')
    m = scrape(admin)
    assert m['rpxy_requests_total{app="local",protocol="h3",code="2xx"}'] == 1
    assert m['rpxy_connections_total{listener="quic"}'] == 3
    assert 'rpxy_connections_open{listener="quic",protocol="h3"}' in m
    assert m['rpxy_received_bytes_total{listener="quic"}'] > 20_000
    assert m['rpxy_sent_bytes_total{listener="quic"}'] > 100
    done = {k: v for k, v in m.items() if k.startswith('rpxy_tls_handshakes_total{listener="quic"')}
    assert sum(done.values()) == 1 and 'version="TLSv1.3"' in next(iter(done)), done
    assert m['rpxy_tls_handshake_failures_total{listener="quic",reason="no_sni"}'] == 1
    assert m['rpxy_tls_handshake_failures_total{listener="quic",reason="unknown_sni"}'] == 1
    assert not any(k.startswith('rpxy_tls_handshakes_total{listener="https"') for k in m)


def test_admin_answers_only_its_two_paths(backend, start_proxy):
    admin = free_port()
    p = start_proxy(admin_config(admin, backend.port))
    assert get(admin, "/healthz") == (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
                                      b"charset=utf-8\r\nContent-Length: 3\r\n"
                                      b"Connection: close\r\n\r\nok\n")
    head = get(admin, "/healthz", method="HEAD")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
    assert get(admin, "/metrics?x=1").startswith(b"HTTP/1.1 200 OK\r\n")
    r = get(admin, "/metrics", method="POST")
    assert r.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n") and b"\r\nAllow: GET, HEAD\r\n" in r
    assert get(admin, "/").startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert get(admin, "/metricsx").startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert raw_request(admin, b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400 Bad Request\r\n")
    big = b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n"
    assert raw_request(admin, big).startswith(b"HTTP/1.1 431 ")
    # the proxy's own listener routes /metrics like any path: to the app's backend
    r = get(p.port, "/metrics", host="app.test")
    assert r.startswith(b"HTTP/1.1 200") and b"rpxy_requests_total" not in r
    assert b'"backend": "b0"' in r and b'"path": "/metrics"' in r

    # while a graceful stop drains a request in flight, /healthz says so
    slow = threading.Thread(target=get, args=(p.port, "/slow?s=1.5", "GET", "app.test"))
    slow.start()
    deadline = time.monotonic() + 5
    while not any(r[1].startswith("/slow") for r in backend.requests) and \
            time.monotonic() < deadline:
        time.sleep(0.02)
    p.signal(signal.SIGTERM)
    p.wait_log(r"SIGTERM received")
    assert get(admin, "/healthz").endswith(b"\r\n\r\ndraining\n")
    assert get(admin, "/healthz").startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    slow.join()
    assert p.stop() == 0



def reload_to(p, text, n):
    """Writes the config and waits for the n-th reload's verdict line."""
    p.path.write_text(text)
    deadline = time.monotonic() + 10
    verdict = r"INFO Configuration updated\.|Configuration does not updated"
    while len(re.findall(verdict, p.log())) < n:
        assert time.monotonic() < deadline, p.log()
        time.sleep(0.05)
    return re.findall(verdict, p.log())[n - 1]


def refused(port):
    try:
        get(port, "/healthz")
    except ConnectionRefusedError:
        return True
    return False


def test_reload_moves_adds_and_removes_the_admin_listener(backend, start_proxy):
    """admin_listen follows a reload: moved to another port (the old one is
    closed), to another address on the same port, removed, added again
    (counting starts then); a port in use refuses the reload and the
    running listener keeps serving."""
    a, b = free_port(), free_port()
    p = start_proxy(admin_config(a, backend.port).replace(f'admin_listen = "127.0.0.1:{a}"\n', ""))
    base = p.path.read_text().replace(f'admin_listen = "127.0.0.1:{a}"\n', "")
    assert get(p.port, "/", host="app.test").startswith(b"HTTP/1.1 200")  # not counted
    with_admin = lambda where: base.replace('worker_threads = 2\n',
                                            f'worker_threads = 2\nadmin_listen = "{where}"\n')
    assert reload_to(p, with_admin(f"127.0.0.1:{a}"), 1) == "INFO Configuration updated."
    assert get(a, "/healthz").endswith(b"ok\n")
    for _ in range(2):
        assert get(p.port, "/", host="app.test").startswith(b"HTTP/1.1 200")
    assert scrape(a)['rpxy_requests_total{app="app",protocol="http/1.1",code="2xx"}'] == 2

    assert reload_to(p, with_admin(f"127.0.0.1:{b}"), 2) == "INFO Configuration updated."
    assert get(b, "/healthz").endswith(b"ok\n") and refused(a)
    assert scrape(b)['rpxy_requests_total{app="app",protocol="http/1.1",code="2xx"}'] == 2

    assert reload_to(p, with_admin(f"0.0.0.0:{b}"), 3) == "INFO Configuration updated."
    assert get(b, "/healthz").endswith(b"ok\n")
    p.wait_log(rf"Admin listener \(/metrics, /healthz\) on 0\.0\.0\.0:{b}")

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert reload_to(p, with_admin(f"127.0.0.1:{busy}"), 4) != "INFO Configuration updated."
        p.wait_log(rf"ERROR cannot listen on admin_listen 127\.0\.0\.1:{busy}: Address already in use")
    assert get(b, "/healthz").endswith(b"ok\n")

    assert reload_to(p, base, 5) == "INFO Configuration updated."
    assert refused(b)
    p.wait_log(r"Admin listener stopped \(admin_listen removed\)")
    assert get(p.port, "/", host="app.test").startswith(b"HTTP/1.1 200")


def test_admin_listen_errors_name_file_line_and_key(check):
    for value, why in (('"localhost:9901"', "expected \"IP:PORT\""),
                       ('"127.0.0.1"', "expected \"IP:PORT\""),
                       ('"127.0.0.1:0"', "port out of range 1-65535"),
                       ('"127.0.0.1:99999"', "port out of range 1-65535"),
                       ('"127.0.0.1:9x"', "bad port"),
                       ('"::1:9901"', "expected \"IP:PORT\""),
                       ("9901", "expected a string, got integer")):
        path, r = check(f'listen_port = 8080\nadmin_listen = {value}\n'
                        '[apps.a]\nserver_name = "a.test"\n'
                        'reverse_proxy = [{ upstream = [{ location = "127.0.0.1:1" }] }]\n')
        assert r.returncode == 1
        assert re.search(rf"^{re.escape(str(path))}:2:16: error: admin_listen: .*{re.escape(why)}",
                         r.stderr, re.M), r.stderr
    path, r = check('listen_port = 8080\nadmin_listen = "[::1]:9901"\n'
                    '[apps.a]\nserver_name = "a.test"\n'
                    'reverse_proxy = [{ upstream = [{ location = "127.0.0.1:1" }] }]\n')
    assert r.returncode == 0, r.stderr


def test_admin_port_in_use_stops_the_start(backend, write_config):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = write_config(admin_config(port, backend.port).replace("{port}", str(free_port())))
        r = run_rpxy("--config", path, timeout=30)
    assert r.returncode == 1
    assert f"ERROR cannot listen on admin_listen 127.0.0.1:{port}: Address already in use" \
        in r.stdout
