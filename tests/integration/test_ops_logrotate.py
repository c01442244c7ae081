"""The logrotate snippet (dist/rpxy.logrotate): valid for `logrotate -d`,
and, run for real against a proxy under load (its paths and its postrotate
signal pointed at a test proxy), every access line ends up in exactly one
of the rotated or current files: SIGUSR1 reopens the logs, nothing is lost."""
import gzip
import http.client
import re
import subprocess
import threading
import time

from conftest import REPO

SNIPPET = REPO / "dist/rpxy.logrotate"


def test_snippet_passes_logrotate_debug(tmp_path):
    state = tmp_path / "logrotate.state"
    r = subprocess.run(["logrotate", "-d", "-s", str(state), str(SNIPPET)], capture_output=True,
                       text=True, timeout=30)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "rotating pattern: /var/log/rpxy/*.log" in out
    assert "error" not in out.lower(), out


def load(port, worker, n, failures, done):
    """n keep-alive requests with distinct paths /load-<worker>-<i>; done
    gets one item per answered request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(n):
        try:
            conn.request("GET", f"/load-{worker}-{i}", headers={"Host": "app.test"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                failures.append((worker, i, resp.status))
            done.append(i)
        except (OSError, http.client.HTTPException) as e:
            failures.append((worker, i, repr(e)))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.close()


def read_lines(path):
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.decode().splitlines()


def test_rotation_under_load_loses_no_access_line(backend, start_proxy, tmp_path):
    logs = tmp_path / "logs"
    p = start_proxy(f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
worker_threads = 2
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
""", log_dir=logs)
    # the shipped snippet, pointed at this proxy's directory and process
    conf = tmp_path / "rpxy.logrotate"
    text = SNIPPET.read_text().replace("/var/log/rpxy/", f"{logs}/")
    text, n = re.subn(r"systemctl kill .*rpxy\.service", f"kill -USR1 {p.proc.pid}", text)
    assert n == 1
    conf.write_text(text)
    state = tmp_path / "logrotate.state"

    workers, per_worker, failures, done = 4, 100, [], []
    threads = [threading.Thread(target=load, args=(p.port, w, per_worker, failures, done))
               for w in range(workers)]
    for t in threads:
        t.start()
    # three rotations while requests flow: at a quarter, half and three quarters
    total = workers * per_worker
    for quarter in (1, 2, 3):
        while len(done) < total * quarter // 4 and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        assert len(done) < total, "the load ended before the rotation"
        r = subprocess.run(["logrotate", "-f", "-s", str(state), str(conf)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
    for t in threads:
        t.join()
    assert not failures, failures[:5]

    expected = {f"/load-{w}-{i}" for w in range(workers) for i in range(per_worker)}
    deadline = time.monotonic() + 10
    while True:
        files = sorted(logs.glob("access.log*"))
        seen = [m.group(1) for f in files for line in read_lines(f)
                for m in [re.search(r" GET (/load-\d+-\d+) HTTP/1\.1 ", line)] if m]
        if len(seen) >= len(expected) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(seen) == sorted(expected)  # each line once, in some file
    names = {f.name for f in files}
    assert names == {"access.log", "access.log.1", "access.log.2.gz", "access.log.3.gz"}, names
    assert (logs / "access.log").stat().st_mode & 0o777 == 0o640  # `create 0640`
    system = [line for f in sorted(logs.glob("rpxy.log*")) for line in read_lines(f)]
    assert sum("INFO Log files reopened" in line for line in system) == 3, system
    assert not [line for line in system if " ERROR " in line or " WARN " in line]
