"""Shared pieces of the HTTP/3 tests: a config with [experimental.h3] for
one app named "localhost" (gtlsclient, Debian's ngtcp2 client, sends
"localhost" as SNI for a numeric host and cannot send another), and a
runner for gtlsclient."""
import subprocess

import certs

GTLSCLIENT = "/usr/bin/gtlsclient"


def make_pki(directory):
    ca = certs.make_ca()
    return {"ca": certs.write_ca(ca, str(directory)),
            "localhost": certs.make_leaf(ca, ["localhost"]).write(str(directory), "localhost")}


def h3_config(pki, backend, h3="", extra="", app_extra=""):
    crt, key = pki["localhost"]
    return f"""
listen_port = {{port}}
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.local]
server_name = "localhost"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
tls = {{ tls_cert_path = "{crt}", tls_cert_key_path = "{key}" }}
{app_extra}
[experimental.h3]
{h3}
"""


def gtlsclient_start(port, *uris, args=()):
    """gtlsclient in the background; communicate() gives its output."""
    cmd = [GTLSCLIENT, "--exit-on-all-streams-close", "--timeout=5s", *args,
           "127.0.0.1", str(port), *(uris or (f"https://localhost:{port}/",))]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def gtlsclient(port, *uris, args=(), timeout=20):
    """Runs gtlsclient against 127.0.0.1:port (SNI "localhost"); returns
    (exit code, its output: debug lines, then the HTTP dumps)."""
    cmd = [GTLSCLIENT, "--exit-on-all-streams-close", "--timeout=5s", *args,
           "127.0.0.1", str(port), *(uris or (f"https://localhost:{port}/",))]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr
