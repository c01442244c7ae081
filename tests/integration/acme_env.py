"""A real ACME server for the ACME tests: Debian's pebble, with
pebble-challtestsrv as its DNS server answering 127.0.0.1 for every name.

Pebble's own HTTPS certificate comes from a test CA made here; the proxy
trusts it through SSL_CERT_FILE (Pebble.env). Pebble validates TLS-ALPN-01
challenges by connecting to <name>:tls_port, which the test sets to the
proxy's TLS port; the root that signs issued certificates is read from
pebble's management API (Pebble.root_pem)."""
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.request

from certs import make_ca, make_leaf, write_ca
from conftest import free_port


def _wait_port(port, proc, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on {port}")


class Pebble:
    """pebble + challtestsrv in directory d, validating on tls_port.
    validity: certificate lifetime in seconds (None: pebble's default)."""

    def __init__(self, d, tls_port, validity=None, http_port=None):
        self.dir = d
        self.tls_port = tls_port
        os.makedirs(d, exist_ok=True)
        ca = make_ca("pebble HTTPS test CA")
        leaf = make_leaf(ca, names=("localhost",), ips=("127.0.0.1",))
        self.https_ca = write_ca(ca, d, "pebble-https-ca.pem")
        crt, key = leaf.write(d, "pebble-https")
        self.dns_port = free_port()
        self.port = free_port()
        self.mgmt_port = free_port()
        conf = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
                "certificate": crt,
                "privateKey": key,
                "httpPort": http_port or free_port(),
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        if validity:
            conf["pebble"]["certificateValidityPeriod"] = validity
        self.conf = os.path.join(d, "pebble.json")
        with open(self.conf, "w") as f:
            json.dump(conf, f)
        self.log_path = os.path.join(d, "pebble.log")
        self.out = open(self.log_path, "wb")
        self.dns = subprocess.Popen(
            ["pebble-challtestsrv", "-dns01", f"127.0.0.1:{self.dns_port}", "-http01", "",
             "-https01", "", "-tlsalpn01", "", "-defaultIPv6", "",
             "-management", f"127.0.0.1:{free_port()}"],
            stdout=self.out, stderr=subprocess.STDOUT)
        self.proc = None
        self.start()

    def start(self):
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0",
                   PEBBLE_AUTHZREUSE="0")
        self.proc = subprocess.Popen(
            ["pebble", "-config", self.conf, "-dnsserver", f"127.0.0.1:{self.dns_port}"],
            stdout=self.out, stderr=subprocess.STDOUT, env=env)
        _wait_port(self.port, self.proc, "pebble")
        _wait_port(self.mgmt_port, self.proc, "pebble management")

    def stop_server(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    @property
    def dir_url(self):
        return f"https://127.0.0.1:{self.port}/dir"

    @property
    def env(self):
        """What the proxy needs to trust pebble's HTTPS listener."""
        return {"SSL_CERT_FILE": self.https_ca}

    def root_pem(self):
        """The root that signs the certificates pebble issues (PEM file path)."""
        ctx = ssl.create_default_context(cafile=self.https_ca)
        with urllib.request.urlopen(f"https://127.0.0.1:{self.mgmt_port}/roots/0",
                                    context=ctx, timeout=5) as r:
            pem = r.read()
        path = os.path.join(self.dir, "pebble-root.pem")
        with open(path, "wb") as f:
            f.write(pem)
        return path

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def close(self):
        self.stop_server()
        if self.dns.poll() is None:
            self.dns.terminate()
            self.dns.wait(timeout=10)
        self.out.close()
