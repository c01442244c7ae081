"""Failover (issue 14) through the other ways of reaching an upstream: a TLS
handshake that fails, HTTP/2 toward the upstream, a reused keep-alive
connection whose upstream went away, and set_upstream_host (the Host
written for the upstream that answers)."""
import json
import ssl

import certs
from backends import EchoBackend, RawBackend, raw_request
from failover_util import Upstream, dead_port
from grpc_backend import H2Backend


def proxy(start_proxy, ups, options="[]", env=None, extra=""):
    lines = ["listen_port = {port}", 'listen_address_v4 = "127.0.0.1"',
             "upstream_connect_timeout = 2", "worker_threads = 1", extra,
             "[apps.a]", 'server_name = "a.test"', "[[apps.a.reverse_proxy]]",
             'load_balance = "none"', f"upstream_options = {options}"]
    for where, tls in ups:
        lines += ["[[apps.a.reverse_proxy.upstream]]", f'location = "{where}"',
                  f"tls = {'true' if tls else 'false'}"]
    return start_proxy("\n".join(lines) + "\n", env=env)


def send(p, method="GET", body=b""):
    out = raw_request(p.port, f"{method} /x HTTP/1.1\r\nHost: a.test\r\nContent-Length: "
                              f"{len(body)}\r\nConnection: close\r\n\r\n".encode() + body,
                      timeout=10)
    head, _, rest = out.partition(b"\r\n\r\n")
    return (int(head.split()[1]) if head else 0), rest


def test_tls_handshake_failure_goes_to_the_next(tmp_path, start_proxy):
    ca = certs.make_ca("failover CA")
    d = str(tmp_path)
    ca_file = certs.write_ca(ca, d)
    leaf = certs.make_leaf(ca, ["localhost"]).write(d, "localhost")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*leaf)
    good = EchoBackend("tls-good", tls_context=ctx)
    # speaks no TLS: answers the ClientHello with plain text, the handshake fails
    plain = RawBackend(lambda c: (c.recv(4096), c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")))
    p = proxy(start_proxy, [(f"localhost:{plain.port}", True), (f"localhost:{good.port}", True)],
              env={"SSL_CERT_FILE": ca_file})
    status, rest = send(p, "POST", b"b" * 5000)
    assert status == 200
    info = json.loads(rest)
    assert info["method"] == "POST" and len(info["body"]) == 5000
    p.wait_log(r"WARN Failed to get response from backend: TLS handshake with localhost failed")
    p.wait_log(rf"WARN Upstream https://localhost:{plain.port} is marked down")
    good.stop()
    plain.stop()


def test_h2_upstream_dead_first(start_proxy):
    be = H2Backend()
    dead = dead_port()
    p = proxy(start_proxy, [(f"127.0.0.1:{dead}", False), (f"127.0.0.1:{be.port}", False)],
              options='["force_http2_upstream"]')
    status, rest = send(p, "POST", b"h2 body")
    assert status == 200, rest
    assert b"h2 body" in rest or json.loads(rest)
    assert len(be.requests) == 1
    p.wait_log(rf"WARN Failed to get response from backend: .*127\.0\.0\.1:{dead}.*; trying "
               rf"http://127\.0\.0\.1:{be.port}")
    be.stop()


def test_host_of_the_upstream_that_answers(start_proxy):
    b = EchoBackend("b")
    dead = dead_port()
    p = proxy(start_proxy, [(f"127.0.0.1:{dead}", False), (f"127.0.0.1:{b.port}", False)],
              options='["set_upstream_host"]')
    status, rest = send(p)
    assert status == 200
    headers = {k.lower(): v for k, v in json.loads(rest)["headers"]}
    assert headers["host"] == f"127.0.0.1:{b.port}"
    b.stop()


def test_reused_connection_retry_goes_elsewhere(start_proxy):
    """A keep-alive connection to a whose listener is gone: the request on it
    is dropped without an answer; the one-time safe retry cannot reach a
    again and goes to b."""
    a, b = Upstream("a"), Upstream("b")
    p = proxy(start_proxy, [(f"127.0.0.1:{a.port}", False), (f"127.0.0.1:{b.port}", False)],
              extra="upstream_idle_timeout = 30")
    status, rest = send(p)
    assert status == 200 and json.loads(rest)["backend"] == "a"
    # a's connection stays in the pool; a stops listening, and drops the next request
    a.sock.shutdown(2)
    a.sock.close()
    a.sock = None
    a.drop = True
    assert a.conns, "the pooled connection is open"
    status, rest = send(p)
    assert status == 200 and json.loads(rest)["backend"] == "b"
    p.wait_log(r"WARN Failed to get response from backend: connect: Connection refused "
               rf"\(upstream http://127\.0\.0\.1:{a.port} at 127\.0\.0\.1:{a.port}\); trying "
               rf"http://127\.0\.0\.1:{b.port}")
    b.kill()
