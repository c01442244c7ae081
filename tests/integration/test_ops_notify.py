"""systemd notifications (Type=notify): a unix datagram socket stands in for
NOTIFY_SOCKET and receives READY=1 once every listener accepts, RELOADING=1
and READY=1 around a reload (SIGHUP, as ExecReload sends it, or a changed
file), STOPPING=1 when draining, and a STATUS= line each time."""
import contextlib
import os
import re
import signal
import socket
import subprocess
import time

from backends import EchoBackend, raw_request
from conftest import RPXY, free_port


def config(port, backend_port, apps=1):
    text = f'listen_port = {port}\nlisten_address_v4 = "127.0.0.1"\nworker_threads = 2\n'
    for i in range(apps):
        text += f"""
[apps.app{i}]
server_name = "app{i}.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend_port}" }}] }}]
"""
    return text


class Notify:
    """A datagram socket bound where NOTIFY_SOCKET points (a path or, with a
    leading '@', an abstract name)."""

    def __init__(self, name):
        self.name = name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + name[1:] if name.startswith("@") else name)

    def next(self, timeout=10):
        self.sock.settimeout(timeout)
        return dict(line.split("=", 1) for line in self.sock.recv(4096).decode().split("\n"))

    def close(self):
        self.sock.close()


@contextlib.contextmanager
def notified_proxy(tmp_path, notify_name):
    """rpxy with NOTIFY_SOCKET=notify_name; yields (process, config path,
    port, Notify, backend), and stops whatever is left afterwards."""
    backend = EchoBackend("b")
    notify = Notify(notify_name)
    port = free_port()
    cfg = tmp_path / "rpxy.toml"
    cfg.write_text(config(port, backend.port))
    out = open(tmp_path / "rpxy.out", "wb")
    env = {k: v for k, v in os.environ.items() if k not in ("RUST_LOG", "RPXY_LOG")}
    env["NOTIFY_SOCKET"] = notify_name
    proc = subprocess.Popen([str(RPXY), "--config", str(cfg)], stdout=out,
                            stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, cfg, port, notify, backend
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()
        notify.close()
        backend.stop()


def get(port, host):
    return raw_request(port, f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())


def test_ready_reload_stopping(tmp_path):
    with notified_proxy(tmp_path, str(tmp_path / "notify.sock")) as (proc, cfg, port, notify,
                                                                     backend):
        msg = notify.next()
        # READY=1 only once the listener accepts: a request right now succeeds
        assert msg["READY"] == "1"
        assert get(port, "app0.test").startswith(b"HTTP/1.1 200")
        assert msg["STATUS"] == f"Serving 1 app on port {port} (http) with 2 workers"

        # systemctl reload: ExecReload sends SIGHUP
        before = time.monotonic_ns() // 1000
        proc.send_signal(signal.SIGHUP)
        msg = notify.next()
        assert msg["RELOADING"] == "1"
        assert before <= int(msg["MONOTONIC_USEC"]) <= time.monotonic_ns() // 1000
        msg = notify.next()
        assert msg["READY"] == "1"
        assert msg["STATUS"].startswith("Serving 1 app ")

        # a changed file is a reload too, with the new summary
        cfg.write_text(config(port, backend.port, apps=2))
        assert notify.next()["RELOADING"] == "1"
        msg = notify.next()
        assert msg["READY"] == "1" and msg["STATUS"].startswith("Serving 2 apps ")
        assert get(port, "app1.test").startswith(b"HTTP/1.1 200")

        # an invalid file keeps the running one, and STATUS says so
        cfg.write_text(config(port, backend.port) + "bogus_key = 1\n")
        assert notify.next()["RELOADING"] == "1"
        msg = notify.next()
        assert msg["READY"] == "1"
        assert msg["STATUS"] == (f"Serving 2 apps on port {port} (http) with 2 workers; "
                                 "the last reload failed, see the log")

        proc.send_signal(signal.SIGTERM)
        msg = notify.next()
        assert msg["STOPPING"] == "1"
        assert re.fullmatch(r"Draining connections \(at most \d+ s\)", msg["STATUS"])
        assert proc.wait(timeout=15) == 0


def test_abstract_socket_name(tmp_path):
    name = f"@rpxy-test-notify-{os.getpid()}-{time.monotonic_ns()}"
    with notified_proxy(tmp_path, name) as (proc, _, port, notify, _):
        assert notify.next()["READY"] == "1"
        proc.send_signal(signal.SIGTERM)
        assert notify.next()["STOPPING"] == "1"
        assert proc.wait(timeout=15) == 0


def test_bad_notify_socket_is_reported_and_harmless(start_proxy, tmp_path):
    backend = EchoBackend("b")
    missing = tmp_path / "nobody-listens.sock"
    p = start_proxy(config("{port}", backend.port), env={"NOTIFY_SOCKET": str(missing)})
    log = p.wait_log(r"WARN cannot notify systemd through NOTIFY_SOCKET=")
    assert f"NOTIFY_SOCKET={missing}: No such file or directory" in log
    assert get(p.port, "app0.test").startswith(b"HTTP/1.1 200")
    p.signal(signal.SIGHUP)
    p.wait_log(r"Configuration updated\.")
    assert len(re.findall("cannot notify systemd", p.log())) == 1  # once, not per message

    q = start_proxy(config("{port}", backend.port), env={"NOTIFY_SOCKET": "relative/name"})
    q.wait_log(r"WARN NOTIFY_SOCKET=relative/name is not a unix socket path or @abstract name")
    assert get(q.port, "app0.test").startswith(b"HTTP/1.1 200")
    backend.stop()
