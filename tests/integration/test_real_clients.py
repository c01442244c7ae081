"""curl and h2load through the proxy: keep-alive reuse, uploads, and many
concurrent connections with every request answered."""
import re
import subprocess


def config(backend, extra=""):
    return f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.app]
server_name = "localhost"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
"""


def test_curl_keep_alive_and_upload(backend, start_proxy, tmp_path):
    p = start_proxy(config(backend))
    url = f"http://localhost:{p.port}"
    r = subprocess.run(["curl", "-sS", "-w", "%{http_code} %{num_connects}\\n",
                        "-o", "/dev/null", f"{url}/a", "-o", "/dev/null", f"{url}/b",
                        "-o", "/dev/null", f"{url}/c"], capture_output=True, text=True, timeout=20)
    assert r.stdout.split("\n")[:3] == ["200 1", "200 0", "200 0"], "one connection for three requests"
    upload = tmp_path / "upload.bin"
    upload.write_bytes(bytes(range(256)) * 4096)
    r = subprocess.run(["curl", "-sS", "--data-binary", f"@{upload}", "-o", "/dev/null",
                        "-w", "%{http_code}", f"{url}/up"], capture_output=True, text=True, timeout=20)
    assert r.stdout == "200"
    assert len(backend.requests[-1][3]) == 256 * 4096


def test_h2load_many_connections(start_proxy):
    import shutil
    assert shutil.which("h2load"), "nghttp2-client is installed by scripts/install-deps.sh"
    # the tiny C backend: Python's server would be the bottleneck
    from conftest import BUILD, free_port
    port = free_port()
    be = subprocess.Popen([str(BUILD / "bench-backend"), "--quiet", f"127.0.0.1:{port}"])
    try:
        class B:
            pass
        b = B()
        b.port = port
        p = start_proxy(config(b, "worker_threads = 2"))
        r = subprocess.run(["h2load", "--h1", "-n", "20000", "-c", "200", "-m", "1",
                            f"http://localhost:{p.port}/"], capture_output=True, text=True, timeout=120)
        m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                      r"(\d+) errored", r.stdout)
        assert m, r.stdout + r.stderr
        assert m.groups() == ("20000", "20000", "20000", "20000", "0", "0"), r.stdout
        assert "status codes: 20000 2xx" in r.stdout
    finally:
        be.terminate()
        be.wait()
