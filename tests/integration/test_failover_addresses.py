"""Every address of a host-name location (issue 14): new connections spread
over them, and a dead one costs no request.

No name resolves to two addresses on this machine (/etc/hosts has
127.0.0.1 only) and the system's hosts file is not ours to edit, so the
proxy runs in a private mount namespace (unshare -m) where a hosts file of
the test's is bind-mounted over /etc/hosts: the name twoaddr.test resolves
to ::1 then 127.0.0.1 through the ordinary resolver, for that process only."""
import json
import re
import socket
import time

import backends
from backends import raw_request
from failover_util import Load, Upstream


def proxy_seeing_hosts(tmp_path, monkeypatch, start_proxy, config):
    hosts = tmp_path / "hosts"
    hosts.write_text("::1 twoaddr.test\n127.0.0.1 twoaddr.test\n")
    wrapper = tmp_path / "rpxy-ns"
    wrapper.write_text("#!/bin/sh\nexec unshare -m sh -c "
                       "'mount --bind \"$0\" /etc/hosts && exec \"$@\"' "
                       f"{hosts} {backends.RPXY} \"$@\"\n")
    wrapper.chmod(0o755)
    monkeypatch.setattr(backends, "RPXY", wrapper)
    return start_proxy(config)


def config(port, lb="none", more=""):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
upstream_connect_timeout = 2
worker_threads = 1
[apps.app]
server_name = "app.test"
[[apps.app.reverse_proxy]]
load_balance = "{lb}"
upstream = [{{ location = "twoaddr.test:{port}" }}{more}]
"""


def get(p):
    out = raw_request(p.port, b"GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_one_dead_address_of_two(tmp_path, monkeypatch, start_proxy):
    v4 = Upstream("v4")  # listens on 127.0.0.1 only: ::1 of the same name refuses
    p = proxy_seeing_hosts(tmp_path, monkeypatch, start_proxy, config(v4.port))
    for _ in range(6):
        status, body = get(p)
        assert status == 200 and json.loads(body)["backend"] == "v4"
    load = Load(p.port, clients=4)
    time.sleep(1.0)
    load.stop()
    assert load.failed() == 0 and load.total() > 50, (load.statuses, load.errors)
    # new connections went to both addresses in turn: the IPv6 one refused
    p.wait_log(rf"WARN Failed to get response from backend: connect: Connection refused "
               rf"\(upstream http://twoaddr\.test:{v4.port} at \[::1\]:{v4.port}\); trying "
               rf"http://twoaddr\.test:{v4.port} at 127\.0\.0\.1:{v4.port}")
    assert "is marked down" not in p.log(), "one address down is not the upstream down"
    v4.kill()


def test_failed_address_left_out_for_the_cool_off(tmp_path, monkeypatch, start_proxy):
    v4 = Upstream("v4")
    p = proxy_seeing_hosts(tmp_path, monkeypatch, start_proxy, config(v4.port))
    for _ in range(8):  # a new upstream connection each time
        status, body = get(p)
        assert status == 200 and json.loads(body)["backend"] == "v4"
        for c in list(v4.conns):
            c.shutdown(socket.SHUT_RDWR)
        time.sleep(0.05)
    refused = re.findall(r"WARN .*Connection refused .*at \[::1\]", p.log())
    assert len(refused) <= 1, "after one refusal ::1 is skipped for upstream_fail_timeout"
    v4.kill()


def test_connections_spread_over_addresses(tmp_path, monkeypatch, start_proxy):
    v4 = Upstream("v4")
    v6 = Upstream("v6", host="::1", port=v4.port)
    p = proxy_seeing_hosts(tmp_path, monkeypatch, start_proxy, config(v4.port))
    # the upstream connections would be pooled and reused: the upstreams
    # close theirs after every answer, so every request makes a new one
    seen = []
    for _ in range(8):
        status, body = get(p)
        assert status == 200
        seen.append(json.loads(body)["backend"])
        for u in (v4, v6):
            for c in list(u.conns):
                c.shutdown(socket.SHUT_RDWR)
        time.sleep(0.05)
    assert seen.count("v4") >= 3 and seen.count("v6") >= 3, seen
    assert not re.search(r"WARN", p.log())
    v4.kill()
    v6.kill()
