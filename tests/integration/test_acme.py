"""ACME (SPEC 10, issue 11) against a real ACME server: Debian's pebble, which
validates TLS-ALPN-01 on the proxy's TLS port (its DNS, pebble-challtestsrv,
maps every name to 127.0.0.1). Issued certificates are checked with openssl
s_client and curl against pebble's root."""
import base64
import datetime
import hashlib
import os
import re
import stat
import subprocess
import time

import pytest
from cryptography import x509

from acme_env import Pebble
from backends import raw_request
from conftest import free_port, run_rpxy


@pytest.fixture
def pebble(tmp_path):
    started = []

    def make(tls_port, **kw):
        p = Pebble(str(tmp_path / f"pebble{len(started)}"), tls_port, **kw)
        started.append(p)
        return p

    yield make
    for p in started:
        p.close()


def acme_config(dir_url, registry, tls_port, names=("a.example", "b.example")):
    apps = "".join(f"""
[apps.app{i}]
server_name = "{n}"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:1" }}] }}]
tls = {{ acme = true, https_redirection = false }}
""" for i, n in enumerate(names))
    return f"""listen_port = {{port}}
listen_port_tls = {tls_port}
{apps}
[experimental.acme]
dir_url = "{dir_url}"
email = "admin@example.com"
registry_path = "{registry}"
"""


def registry_hash(a, b):
    d = hashlib.sha256(a.encode() + b"\0" + b.encode()).digest()
    return base64.urlsafe_b64encode(d).rstrip(b"=").decode()


def served_cert(tls_port, name, root):
    """openssl s_client verifying against root; returns (verify ok, PEM leaf, text)."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{tls_port}",
                        "-servername", name, "-CAfile", root, "-verify_return_error",
                        "-verify_hostname", name],
                       input="", capture_output=True, text=True, timeout=10)
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", r.stdout, re.S)
    return "Verify return code: 0 (ok)" in r.stdout, m.group(0) if m else None, r.stdout


def wait_served(tls_port, name, root, timeout=5):
    """served_cert() once it verifies against root and shows the
    certificate (or the last try)."""
    deadline = time.monotonic() + timeout
    while True:
        got = served_cert(tls_port, name, root)
        if (got[0] and got[1]) or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def issued_once(tmp_path, pebble, start_proxy):
    """pebble and a proxy that obtained a certificate for a.example."""
    tls_port = free_port()
    pb = pebble(tls_port)
    registry = tmp_path / "reg"
    config = acme_config(pb.dir_url, registry, tls_port, names=("a.example",))
    p = start_proxy(config, env=pb.env)
    p.wait_log(r'DeployedNewCert domain="a.example"', timeout=20)
    return tls_port, pb, registry, config, p


def serial_of(pem):
    r = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem,
                       capture_output=True, text=True)
    return r.stdout.strip()


def curl_ok(tls_port, name, root):
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", root,
                        "--resolve", f"{name}:{tls_port}:127.0.0.1",
                        f"https://{name}:{tls_port}/"],
                       capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout


def test_issues_for_two_domains_and_serves_them(tmp_path, pebble, start_proxy):
    """Both names get a certificate from pebble through TLS-ALPN-01 answered on
    the proxy's TLS port (several workers), stored with SPEC 10's names and
    modes under an upper-case registry path (rpxy's quirk fixed), and served
    at once: openssl and curl verify it against pebble's root."""
    tls_port = free_port()
    pb = pebble(tls_port)
    registry = tmp_path / "Acme_Registry"
    p = start_proxy(acme_config(pb.dir_url, registry, tls_port), env=pb.env)
    p.wait_log(r"rpxy ACME event: AccountCacheStore")
    p.wait_log(r'DeployedNewCert domain="a.example"', timeout=20)
    p.wait_log(r'DeployedNewCert domain="b.example"', timeout=20)
    p.wait_log(r"TLS certificates updated successfully(.|\n)*"
               r"TLS certificates updated successfully", timeout=5)
    root = pb.root_pem()
    for name in ("a.example", "b.example"):
        ok, leaf, out = served_cert(tls_port, name, root)
        assert ok, out
        assert curl_ok(tls_port, name, root) == (0, "502")  # TLS fine, upstream refused
    # layout, hashes and modes
    dir_url = pb.dir_url.lower()
    account = registry / "accounts" / ("cached_account_" +
                                       registry_hash("mailto:admin@example.com", dir_url))
    assert account.is_file()
    assert stat.S_IMODE(account.stat().st_mode) == 0o600
    for d in (registry, registry / "accounts", registry / "a.example"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    cert = registry / "a.example" / ("cached_cert_" + registry_hash("a.example", dir_url))
    assert stat.S_IMODE(cert.stat().st_mode) == 0o600
    text = cert.read_text()
    assert text.startswith("-----BEGIN PRIVATE KEY-----")
    assert text.count("-----BEGIN CERTIFICATE-----") >= 2  # leaf and intermediate
    assert not list(registry.glob("**/.write_test_*"))
    assert "rpxy ACME error" not in p.log()


def test_restart_reuses_account_and_certificate(tmp_path, pebble, start_proxy):
    """A second start finds the account key and the certificate in the
    registry: the cached certificate is deployed, no new order is made."""
    tls_port, pb, registry, config, p = issued_once(tmp_path, pebble, start_proxy)
    root = pb.root_pem()
    ok, first, out = wait_served(tls_port, "a.example", root)
    assert ok and first, out
    assert p.stop() == 0
    accounts = list((registry / "accounts").iterdir())
    p2 = start_proxy(config, env=pb.env)
    p2.wait_log(r'rpxy ACME event: DeployedCachedCert domain="a.example"')
    p2.wait_log(r"rpxy ACME event: AccountCacheLoad")
    ok, again, out = wait_served(tls_port, "a.example", root)
    assert ok and again, out
    assert serial_of(again) == serial_of(first)
    time.sleep(1)
    assert "OrderStart" not in p2.log() and "AccountCacheStore" not in p2.log()
    assert list((registry / "accounts").iterdir()) == accounts


def test_short_lived_certificate_is_renewed(tmp_path, pebble, start_proxy):
    """Pebble issuing 9 s certificates: renewal is scheduled at two thirds of
    the lifetime and the renewed certificate is served at once."""
    tls_port = free_port()
    pb = pebble(tls_port, validity=9)
    p = start_proxy(acme_config(pb.dir_url, tmp_path / "reg", tls_port, names=("a.example",)),
                    env=pb.env)
    log = p.wait_log(r'RenewalScheduled domain="a.example" at=\S+', timeout=20)
    root = pb.root_pem()
    ok, first, out = served_cert(tls_port, "a.example", root)
    assert ok, out
    at = re.search(r'RenewalScheduled domain="a.example" at=(\S+)', log).group(1)
    leaf = x509.load_pem_x509_certificate(first.encode())
    lifetime = leaf.not_valid_after - leaf.not_valid_before
    expected = leaf.not_valid_after - lifetime / 3
    scheduled = datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ")
    assert abs((scheduled - expected).total_seconds()) <= 1, (at, expected)
    # the second issuance, about 6 s after the first
    p.wait_log(r'DeployedNewCert domain="a.example"(.|\n)*DeployedNewCert domain="a.example"',
               timeout=20)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        ok, renewed, out = served_cert(tls_port, "a.example", root)
        if renewed and serial_of(renewed) != serial_of(first):
            break
        time.sleep(0.2)
    assert ok, out
    assert serial_of(renewed) != serial_of(first)


def test_ca_down_at_start_backs_off_then_issues(tmp_path, pebble, start_proxy):
    """With the CA unreachable the account key is still created and stored at
    once, each failure is an `rpxy ACME error:` line with a growing wait
    (1 s, 2 s, ...), and once the CA is up the certificate is obtained."""
    tls_port = free_port()
    pb = pebble(tls_port)
    pb.stop_server()
    registry = tmp_path / "reg"
    p = start_proxy(acme_config(pb.dir_url, registry, tls_port, names=("a.example",)),
                    env=pb.env)
    p.wait_log(r"rpxy ACME event: AccountCacheStore")
    assert len(list((registry / "accounts").iterdir())) == 1
    p.wait_log(r'rpxy ACME error: order for "a.example" failed: .*retrying in 1 s')
    p.wait_log(r'rpxy ACME error: order for "a.example" failed: .*retrying in 2 s', timeout=5)
    pb.start()
    p.wait_log(r'DeployedNewCert domain="a.example"', timeout=20)
    ok, _, out = served_cert(tls_port, "a.example", pb.root_pem())
    assert ok, out


def test_cached_certificate_served_while_ca_is_down(tmp_path, pebble, start_proxy):
    """A certificate obtained earlier is deployed from the registry at start
    even though the CA is gone."""
    tls_port = free_port()
    pb = pebble(tls_port)
    config = acme_config(pb.dir_url, tmp_path / "reg", tls_port, names=("a.example",))
    p = start_proxy(config, env=pb.env)
    p.wait_log(r'DeployedNewCert domain="a.example"', timeout=20)
    root = pb.root_pem()
    assert p.stop() == 0
    pb.stop_server()
    p2 = start_proxy(config, env=pb.env)
    p2.wait_log(r'DeployedCachedCert domain="a.example"')
    ok, _, out = served_cert(tls_port, "a.example", root)
    assert ok, out


def test_unreachable_challenge_is_logged_and_retried(tmp_path, pebble, start_proxy):
    """Pebble validating on a port where nothing listens: the order fails with
    the CA's reason in an `rpxy ACME error:` line, and is retried later."""
    tls_port = free_port()
    pb = pebble(free_port())  # validates elsewhere
    p = start_proxy(acme_config(pb.dir_url, tmp_path / "reg", tls_port, names=("a.example",)),
                    env=pb.env)
    log = p.wait_log(r'rpxy ACME error: order for "a.example" failed: tls-alpn-01 challenge '
                     r'for a.example failed: authorization invalid: urn:ietf:params:acme:error:'
                     r'\w+.*retrying in 1 s', timeout=20)
    p.wait_log(r'order for "a.example" failed: .*retrying in 2 s', timeout=20)
    assert "DeployedNewCert" not in log


def test_acme_tls_hello_for_other_names_is_refused(tmp_path, pebble, start_proxy):
    """An acme-tls/1 ClientHello for a name with no pending authorization gets
    no certificate and the audit line of SPEC 8.5."""
    tls_port = free_port()
    pb = pebble(tls_port)
    p = start_proxy(acme_config(pb.dir_url, tmp_path / "reg", tls_port, names=("a.example",)),
                    env=pb.env)
    p.wait_log(r'DeployedNewCert domain="a.example"', timeout=20)
    for name in ("a.example", "other.example"):
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{tls_port}",
                            "-servername", name, "-alpn", "acme-tls/1"],
                           input="", capture_output=True, text=True, timeout=10)
        assert "BEGIN CERTIFICATE" not in r.stdout
        p.wait_log(rf'TLS handshake failed peer=127\.0\.0\.1:\d+ sni="{name}" '
                   r'failure="acme_no_config"')


def test_registry_path_that_is_a_file_exits_1(tmp_path, write_config):
    reg = tmp_path / "registry"
    reg.write_text("not a directory")
    path = write_config(acme_config("https://127.0.0.1:1/dir", reg, free_port())
                        .replace("{port}", str(free_port())))
    r = run_rpxy("--config", path, timeout=10)
    assert r.returncode == 1
    assert "Invalid acme registry path" in r.stdout + r.stderr


def test_unwritable_domain_directory_exits_1(tmp_path, write_config):
    reg = tmp_path / "registry"
    reg.mkdir()
    (reg / "a.example").write_text("a file where the domain directory goes")
    path = write_config(acme_config("https://127.0.0.1:1/dir", reg, free_port())
                        .replace("{port}", str(free_port())))
    r = run_rpxy("--config", path, timeout=10)
    assert r.returncode == 1
    assert f"Cannot write certificates for domain 'a.example' to '{reg}': " in \
        r.stdout + r.stderr


def test_reload_switches_between_files_and_acme(tmp_path, pebble, start_proxy):
    """An app moved from certificate files to `acme = true` by a reload gets
    an ACME certificate; moved back, it serves its files again."""
    from certs import make_ca, make_leaf, write_ca
    tls_port = free_port()
    pb = pebble(tls_port)
    ca = make_ca("file CA")
    crt, key = make_leaf(ca, names=("a.example",)).write(str(tmp_path), "a")
    file_ca = write_ca(ca, str(tmp_path), "file-ca.pem")
    acme = acme_config(pb.dir_url, tmp_path / "reg", tls_port, names=("a.example",))
    files = acme.replace("acme = true",
                         f'tls_cert_path = "{crt}", tls_cert_key_path = "{key}"')
    p = start_proxy(files, env=pb.env)
    ok, _, out = served_cert(tls_port, "a.example", file_ca)
    assert ok, out
    assert "OrderStart" not in p.log()
    p.path.write_text(acme.replace("{port}", str(p.port)))
    p.wait_log(r'DeployedNewCert domain="a.example"', timeout=20)
    root = pb.root_pem()
    ok, _, out = wait_served(tls_port, "a.example", root)
    assert ok, out
    p.path.write_text(files.replace("{port}", str(p.port)))
    p.wait_log(r"Configuration updated\.(.|\n)*Configuration updated\.")
    ok, _, out = wait_served(tls_port, "a.example", file_ca)
    assert ok, out


def test_corrupted_cached_certificate_is_replaced(tmp_path, pebble, start_proxy):
    """A damaged registry file is an `rpxy ACME error:` line at start and a
    new certificate is ordered, stored and served."""
    tls_port, pb, registry, config, p = issued_once(tmp_path, pebble, start_proxy)
    assert p.stop() == 0
    (cert,) = (registry / "a.example").glob("cached_cert_*")
    cert.write_text(cert.read_text()[:300])  # cut inside the key
    p2 = start_proxy(config, env=pb.env)
    p2.wait_log(r'rpxy ACME error: the cached certificate for "a\.example" .* is unusable')
    p2.wait_log(r'DeployedNewCert domain="a.example"', timeout=20)
    ok, _, out = wait_served(tls_port, "a.example", pb.root_pem())
    assert ok, out


def http01_get(port, path, host):
    out = raw_request(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                            "Connection: close\r\n\r\n".encode())
    return int(out[9:12]), out


def test_http01_answered_on_plaintext_listener(tmp_path, pebble, start_proxy, backend):
    """`challenge = "http-01"` (ours): pebble validates on the proxy's plaintext
    port, where /.well-known/acme-challenge/<token> is answered before the
    app's https redirect; the certificate is then served on the TLS port.
    Unknown tokens of an http-01 domain get 404, other paths go on as before."""
    http_port = free_port()
    pb = pebble(free_port(), http_port=http_port)  # nothing on its tlsPort
    p = start_proxy(f"""listen_port = {http_port}
listen_port_tls = {{tls_port}}
[apps.a]
server_name = "a.example"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
tls = {{ acme = true, challenge = "http-01" }}
[apps.plain]
server_name = "plain.example"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
[experimental.acme]
dir_url = "{pb.dir_url}"
email = "admin@example.com"
registry_path = "{tmp_path / 'reg'}"
""", env=pb.env)
    p.wait_log(r'DeployedNewCert domain="a.example"', timeout=20)
    root = pb.root_pem()
    ok, leaf, out = wait_served(p.tls_port, "a.example", root)
    assert ok, out
    assert "rpxy ACME error" not in p.log()
    assert re.search(r"GET /\.well-known/acme-challenge/[\w-]+ HTTP/1\.1 -- 200 OK", p.log())
    assert "Attempting to validate w/ HTTP: http://a.example:" in pb.log()
    # after issuance: no token pending
    status, out = http01_get(http_port, "/.well-known/acme-challenge/nope", "a.example")
    assert status == 404, out
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                        "--http2-prior-knowledge", "--resolve", f"a.example:{http_port}:127.0.0.1",
                        f"http://a.example:{http_port}/.well-known/acme-challenge/nope"],
                       capture_output=True, text=True, timeout=10)
    assert r.stdout == "404 2", r.stdout  # h2c: the same answer
    status, out = http01_get(http_port, "/other", "a.example")
    assert status == 301 and b"https://a.example" in out.lower(), out
    # a host that is not an http-01 domain: routed as usual
    n = len(backend.requests)
    status, out = http01_get(http_port, "/.well-known/acme-challenge/nope", "plain.example")
    assert status == 200 and len(backend.requests) == n + 1, out
    status, out = http01_get(http_port, "/x", "plain.example")
    assert status == 200, out


def test_unknown_acme_challenge_is_a_config_error(tmp_path, write_config):
    path = write_config(acme_config("https://127.0.0.1:1/dir", tmp_path / "reg", free_port(),
                                    names=("a.example",))
                        .replace("{port}", str(free_port()))
                        .replace("acme = true,", 'acme = true, challenge = "dns-01",'))
    r = run_rpxy("--config", path, "--check", timeout=10)
    assert r.returncode == 1
    assert re.search(r'config\.toml:\d+:\d+: error: apps\.app0\.tls\.challenge: unknown ACME '
                     r'challenge "dns-01"', r.stdout + r.stderr), r.stdout + r.stderr


def test_http01_needs_acme_and_the_plaintext_listener(tmp_path, write_config):
    path = write_config(f"""listen_port_tls = {free_port()}
[apps.a]
server_name = "a.example"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:1" }}] }}]
tls = {{ acme = true, challenge = "http-01" }}
[apps.b]
server_name = "b.example"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:1" }}] }}]
tls = {{ tls_cert_path = "/x", tls_cert_key_path = "/y", challenge = "http-01" }}
[experimental.acme]
email = "admin@example.com"
registry_path = "{tmp_path / 'reg'}"
""")
    r = run_rpxy("--config", path, "--check", timeout=10)
    out = r.stdout + r.stderr
    assert r.returncode == 1
    assert re.search(r'config\.toml:5:\d+: error: apps\.a\.tls\.challenge: challenge = "http-01" '
                     r'needs the plaintext listener: set listen_port', out), out
    assert re.search(r"config\.toml:9:\d+: error: apps\.b\.tls\.challenge: challenge is set but "
                     r"acme = true is not", out), out


def test_tls_alpn_challenge_without_acme_is_an_error_too(tmp_path, write_config):
    """Any explicit `challenge` on an app without acme = true is refused,
    tls-alpn-01 included (it would otherwise be ignored silently)."""
    path = write_config(f"""listen_port_tls = {free_port()}
[apps.b]
server_name = "b.example"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:1" }}] }}]
tls = {{ tls_cert_path = "/x", tls_cert_key_path = "/y", challenge = "tls-alpn-01" }}
""")
    r = run_rpxy("--config", path, "--check", timeout=10)
    out = r.stdout + r.stderr
    assert r.returncode == 1
    assert re.search(r"config\.toml:5:\d+: error: apps\.b\.tls\.challenge: challenge is set but "
                     r"acme = true is not", out), out
