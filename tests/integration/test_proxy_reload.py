"""Hot reload: a changed file is applied (inotify, also when an editor
replaces the file, and SIGHUP); an invalid file keeps the old config; a
request in flight finishes on its snapshot; listeners follow the config."""
import json
import os
import signal
import socket
import threading
import time

from backends import EchoBackend, raw_request
from conftest import free_port


def config(port_a, host="app.test", listen="{port}"):
    return f"""
listen_port = {listen}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "{host}"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{port_a}" }}] }}]
"""


def backend_name(p, host="app.test", path="/"):
    out = raw_request(p.port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    if not out.startswith(b"HTTP/1.1 200"):
        return int(out[9:12]) if out else None
    return json.loads(out.split(b"\r\n\r\n", 1)[1])["backend"]


def wait_for(fn, want, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got == want:
            return
        time.sleep(0.05)
    assert fn() == want


def test_file_change_is_applied_and_invalid_kept(start_proxy):
    a, b = EchoBackend("a"), EchoBackend("b")
    p = start_proxy(config(a.port))
    assert backend_name(p) == "a"
    text = p.path.read_text()
    # an editor that writes a new file and renames it over the old one
    tmp = p.path.with_suffix(".tmp")
    tmp.write_text(text.replace(str(a.port), str(b.port)))
    os.rename(tmp, p.path)
    wait_for(lambda: backend_name(p), "b")
    p.wait_log(r"INFO Configuration updated\.")
    # invalid: the old one stays, the error names file and line
    p.path.write_text(p.path.read_text().replace('server_name = "app.test"', 'server_name = 12'))
    p.wait_log(r"ERROR .*rpxy\.toml:5:15: error: apps\.app\.server_name: expected a string, got integer")
    p.wait_log(r"rpxy failed to be ready\. Configuration does not updated")
    assert backend_name(p) == "b"
    a.stop()
    b.stop()


def test_sighup_reloads(start_proxy):
    a, b = EchoBackend("a"), EchoBackend("b")
    p = start_proxy(config(a.port))
    p.path.write_text(p.path.read_text().replace(str(a.port), str(b.port)))
    p.signal(signal.SIGHUP)
    wait_for(lambda: backend_name(p), "b")
    a.stop()
    b.stop()


def test_in_flight_request_survives_reload(start_proxy):
    a, b = EchoBackend("a"), EchoBackend("b")
    p = start_proxy(config(a.port))
    result = {}

    def slow():
        out = raw_request(p.port, b"GET /slow?s=1.5 HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
        result["out"] = out

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    p.path.write_text(p.path.read_text().replace(str(a.port), str(b.port)))
    p.signal(signal.SIGHUP)
    wait_for(lambda: backend_name(p), "b")
    t.join()
    out = result["out"]
    assert out.startswith(b"HTTP/1.1 200")
    assert json.loads(out.split(b"\r\n\r\n", 1)[1])["backend"] == "a"
    a.stop()
    b.stop()


def test_listener_change(start_proxy):
    a = EchoBackend("a")
    p = start_proxy(config(a.port))
    new_port = free_port()
    p.path.write_text(p.path.read_text().replace(f"listen_port = {p.port}", f"listen_port = {new_port}"))
    p.signal(signal.SIGHUP)
    p.wait_log(rf"rpxy proxy service for 127\.0\.0\.1:{new_port} \(http\) started")
    old = p.port
    p.port = new_port
    wait_for(lambda: backend_name(p), "a")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", old), timeout=0.5).close()
            time.sleep(0.1)
        except OSError:
            break
    else:
        raise AssertionError("the old port is still listening")
    a.stop()
