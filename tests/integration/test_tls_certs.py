"""Certificates (SPEC 8.1, 8.2, 8.3): key types and encodings, a certificate
that does not cover server_name, key permission warnings, hot reload with
last-known-good, and session resumption across reloads."""
import json
import os
import shutil
import time

import pytest

import certs
import tlsclient


def app_config(backend, crt, key, name="a.test", extra=""):
    return f"""
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
{extra}
[apps.a]
server_name = "{name}"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
tls = {{ tls_cert_path = "{crt}", tls_cert_key_path = "{key}" }}
"""


def serial_seen(p, ca_path, name="a.test"):
    ctx = tlsclient.context(ca=ca_path)
    with tlsclient.connect(p.tls_port, name, ctx) as s:
        serial = s.getpeercert()["serialNumber"]
        r = tlsclient.request(s, "/")
    assert r.status == 200
    return int(serial, 16)


def test_key_types_and_encodings(tmp_path, backend, start_proxy):
    ca = certs.make_ca()
    ca_path = certs.write_ca(ca, str(tmp_path))
    cases = [("ec", "pkcs8"), ("ec", "traditional"), ("ec384", "pkcs8"), ("rsa", "pkcs8"),
             ("rsa", "traditional"), ("ed25519", "pkcs8")]
    for kind, fmt in cases:
        leaf = certs.make_leaf(ca, ["a.test"], kind=kind)
        crt, key = leaf.write(str(tmp_path), f"{kind}-{fmt}", key_fmt=fmt)
        p = start_proxy(app_config(backend, crt, key))
        assert serial_seen(p, ca_path) == leaf.cert.serial_number, (kind, fmt)
        assert "Failed to read certs" not in p.log()
        p.stop()


def test_chain_is_sent(tmp_path, backend, start_proxy):
    root = certs.make_ca("root")
    inter = certs.make_ca("intermediate", issuer=root)
    leaf = certs.make_leaf(inter, ["a.test"])
    crt, key = leaf.write(str(tmp_path), "leaf", chain=[inter])
    p = start_proxy(app_config(backend, crt, key))
    # the client only trusts the root: it needs the intermediate from the server
    assert serial_seen(p, certs.write_ca(root, str(tmp_path))) == leaf.cert.serial_number


def test_only_the_configured_chain_is_sent(tmp_path, backend, start_proxy):
    """The server sends the certificates of tls_cert_path and nothing else
    (as rustls does): OpenSSL left alone would complete a lone leaf from the
    context's store on every handshake, here the app's client CA, which
    also issued the leaf."""
    import subprocess
    ca = certs.make_ca()
    ca_path = certs.write_ca(ca, str(tmp_path))
    crt, key = certs.make_leaf(ca, ["a.test"]).write(str(tmp_path), "leaf")
    p = start_proxy(app_config(backend, crt, key).replace(
        f'tls_cert_key_path = "{key}"', f'tls_cert_key_path = "{key}", '
        f'client_ca_cert_path = "{ca_path}"'))
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{p.tls_port}",
                        "-servername", "a.test", "-showcerts", "-CAfile", ca_path],
                       input="", capture_output=True, text=True, timeout=10)
    assert "Verify return code: 0 (ok)" in r.stdout, r.stdout + r.stderr
    assert r.stdout.count("-----BEGIN CERTIFICATE-----") == 1, r.stdout


def test_bad_material_is_reported_and_skipped(tmp_path, backend, start_proxy):
    ca = certs.make_ca()
    leaf = certs.make_leaf(ca, ["other.test"])
    crt, key = leaf.write(str(tmp_path), "other")
    p = start_proxy(app_config(backend, crt, key))
    p.wait_log(rf"ERROR Failed to read certs and keys, skip at this time: the certificate in "
               rf"{crt} does not cover server_name a\.test")
    assert tlsclient.send_raw(p.tls_port, tlsclient.client_hello("a.test")) == b""
    p.stop()
    # a key of another certificate
    crt2, _ = certs.make_leaf(ca, ["a.test"]).write(str(tmp_path), "a")
    p = start_proxy(app_config(backend, crt2, key))
    p.wait_log(r"ERROR Failed to read certs and keys, skip at this time: the private key in .* "
               r"does not match the certificate")
    p.stop()
    # missing files are not fatal at start-up
    p = start_proxy(app_config(backend, str(tmp_path / "nope.crt"), key))
    p.wait_log(r"ERROR Failed to read certs and keys, skip at this time: cannot open .*nope\.crt")


def test_key_permission_warnings(tmp_path, backend, start_proxy):
    ca = certs.make_ca()
    crt, key = certs.make_leaf(ca, ["a.test"]).write(str(tmp_path), "a", mode=0o640)
    p = start_proxy(app_config(backend, crt, key))
    p.wait_log(rf"WARN TLS private key file has loose permissions \(mode 640\): {key}\. "
               r"Recommended mode is 0600\.")
    p.stop()
    os.chmod(key, 0o644)
    p = start_proxy(app_config(backend, crt, key))
    p.wait_log(rf"WARN TLS private key file is world-readable \(mode 644\): {key}\. "
               r"Recommended mode is 0600\.")


@pytest.mark.slow(seconds=4)
def test_hot_reload_keeps_last_good_and_connections(tmp_path, backend, start_proxy):
    ca = certs.make_ca()
    ca_path = certs.write_ca(ca, str(tmp_path))
    first = certs.make_leaf(ca, ["a.test"])
    crt, key = first.write(str(tmp_path), "a")
    p = start_proxy(app_config(backend, crt, key))
    assert serial_seen(p, ca_path) == first.cert.serial_number
    # a keep-alive connection made with the first certificate
    ctx = tlsclient.context(ca=ca_path)
    old_conn = tlsclient.connect(p.tls_port, "a.test", ctx)
    assert tlsclient.request(old_conn, "/", close=False).status == 200

    # replaced atomically (rename over): new handshakes get the new one
    second = certs.make_leaf(ca, ["a.test"])
    second.write(str(tmp_path), "new")
    os.replace(tmp_path / "new.crt", crt)
    os.replace(tmp_path / "new.key", key)
    p.wait_log(r"INFO TLS certificates updated successfully")
    assert serial_seen(p, ca_path) == second.cert.serial_number

    # garbage, then a missing file: the last good certificate stays
    with open(crt, "wb") as f:
        f.write(b"-----BEGIN CERTIFICATE-----\ngarbage\n")
    p.wait_log(r"WARN Failed to read certs and keys, keeping the previously loaded certificate")
    assert serial_seen(p, ca_path) == second.cert.serial_number
    os.unlink(crt)
    time.sleep(1.5)
    assert serial_seen(p, ca_path) == second.cert.serial_number

    # written in place again (not renamed): picked up
    third = certs.make_leaf(ca, ["a.test"])
    with open(crt, "wb") as f:
        f.write(third.cert_pem())
    with open(key, "wb") as f:
        f.write(third.key_pem())
    deadline = time.monotonic() + 5
    while serial_seen(p, ca_path) != third.cert.serial_number:
        assert time.monotonic() < deadline, "third certificate not served"
        time.sleep(0.2)

    # the connection from before every change is still served
    r = tlsclient.request(old_conn, "/", close=False)
    assert r.status == 200 and json.loads(r.body)["path"] == "/"
    old_conn.close()


def test_session_resumption_survives_reloads(tmp_path, backend, start_proxy):
    ca = certs.make_ca()
    ca_path = certs.write_ca(ca, str(tmp_path))
    crt, key = certs.make_leaf(ca, ["a.test"]).write(str(tmp_path), "a")
    p = start_proxy(app_config(backend, crt, key, extra="worker_threads = 2"),
                    env={"RUST_LOG": "info"})
    ctx = tlsclient.context(ca=ca_path)
    r, session = tlsclient.get(p.tls_port, "a.test", ctx=ctx)
    assert r.status == 200 and not r.tls["reused"] and session.has_ticket
    # both workers accept the ticket (the keys are shared): try a few times
    for _ in range(4):
        r, _ = tlsclient.get(p.tls_port, "a.test", ctx=ctx, session=session)
        assert r.status == 200 and r.tls["reused"]
    # TLS 1.2 tickets too
    ctx12 = tlsclient.context(ca=ca_path, tls_max=__import__("ssl").TLSVersion.TLSv1_2)
    r, s12 = tlsclient.get(p.tls_port, "a.test", ctx=ctx12)
    r, _ = tlsclient.get(p.tls_port, "a.test", ctx=ctx12, session=s12)
    assert r.status == 200 and r.tls["reused"]

    # a config reload keeps the ticket keys
    p.path.write_text(p.path.read_text().replace("listen_address_v4", "max_clients = 600\nlisten_address_v4"))
    p.wait_log(r"Configuration updated")
    r, _ = tlsclient.get(p.tls_port, "a.test", ctx=ctx, session=session)
    assert r.status == 200 and r.tls["reused"]

    # so does a certificate reload
    shutil.copy(crt, str(tmp_path / "a.crt.bak"))
    certs.make_leaf(ca, ["a.test"]).write(str(tmp_path), "a")
    p.wait_log(r"TLS certificates updated successfully")
    r, _ = tlsclient.get(p.tls_port, "a.test", ctx=ctx, session=session)
    assert r.status == 200 and r.tls["reused"]
