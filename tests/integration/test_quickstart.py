"""`make run` as a newcomer sees it (issue 13): scripts/run-quickstart.sh
starts the sample backends before rpxy, so its first output has no ERROR
and no 502; the URLs it prints work; and a SIGTERM to the script (as GNU
make passes one on) stops the proxy and both backends. It uses the fixed
ports 8080, 8081, 8082 and 8443 of examples/quickstart.toml."""
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILD

ROOT = BUILD.parent if BUILD.name == "build" else BUILD.parent.parent
PORTS = (8080, 8081, 8082, 8443)


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


@pytest.mark.xdist_group("quickstart-ports")
def test_make_run_starts_cleanly_and_stops_on_sigterm():
    assert not any(listening(p) for p in PORTS), "a quickstart port is taken"
    proc = subprocess.Popen(["bash", str(ROOT / "scripts/run-quickstart.sh"), str(BUILD)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line)
            if "Press Ctrl-C to stop." in line:
                break
        text = "".join(out)
        assert "Press Ctrl-C to stop." in text, text
        assert "ERROR" not in text and " 502 " not in text, text
        assert all(listening(p) for p in PORTS), text
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            "http://localhost:8080/"], capture_output=True, text=True, timeout=10)
        assert r.stdout == "200"
        r = subprocess.run(["curl", "-s", "http://localhost:8080/api/hello"],
                           capture_output=True, text=True, timeout=10)
        assert r.stdout.startswith("Hello"), r.stdout
        proc.send_signal(signal.SIGTERM)  # the script only, not its process group
        assert proc.wait(timeout=20) != 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(listening(p) for p in PORTS):
            time.sleep(0.1)
        assert not any(listening(p) for p in PORTS), "something of make run is still serving"
    finally:
        if proc.poll() is None:
            proc.kill()
