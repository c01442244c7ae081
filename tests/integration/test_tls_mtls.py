"""Mutual TLS (SPEC 8.4): a client certificate chaining to the app's CA is
required; missing, foreign and expired ones are refused with the
client_cert audit record; intermediates sent by the client are accepted;
no session resumption for mTLS apps."""
import re
import ssl

import pytest

import certs
import tlsclient


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("mtls"))
    server_ca = certs.make_ca("server CA")
    client_ca = certs.make_ca("client CA")
    no_ski_ca = certs.make_ca("CA without SKI", ski=False)
    other_ca = certs.make_ca("other CA")
    inter = certs.make_ca("client intermediate", issuer=client_ca)
    out = {
        "server_ca": certs.write_ca(server_ca, d, "server_ca.pem"),
        "client_ca": certs.write_ca(client_ca, d, "client_ca.pem"),
        "no_ski_ca": certs.write_ca(no_ski_ca, d, "no_ski_ca.pem"),
    }
    out["m.test"] = certs.make_leaf(server_ca, ["m.test"]).write(d, "m.test")
    out["open.test"] = certs.make_leaf(server_ca, ["open.test"]).write(d, "open.test")
    out["good"] = certs.make_leaf(client_ca, client=True, cn="alice").write(d, "good")
    out["via_inter"] = certs.make_leaf(inter, client=True, cn="bob").write(
        d, "via_inter", chain=[inter])
    out["foreign"] = certs.make_leaf(other_ca, client=True, cn="eve").write(d, "foreign")
    out["expired"] = certs.make_leaf(client_ca, client=True, cn="old", expired=True).write(
        d, "expired")
    out["no_ski_client"] = certs.make_leaf(no_ski_ca, client=True, cn="x").write(d, "no_ski")
    return out


def config(pki, backend, ca_key="client_ca"):
    m_crt, m_key = pki["m.test"]
    o_crt, o_key = pki["open.test"]
    return f"""
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
[apps.m]
server_name = "m.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
tls = {{ tls_cert_path = "{m_crt}", tls_cert_key_path = "{m_key}", client_ca_cert_path = "{pki[ca_key]}" }}
[apps.open]
server_name = "open.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
tls = {{ tls_cert_path = "{o_crt}", tls_cert_key_path = "{o_key}" }}
"""


def attempt(p, pki, who, tls_max=None):
    cert, key = pki[who] if who else (None, None)
    ctx = tlsclient.context(ca=pki["server_ca"], cert=cert, key=key, tls_max=tls_max)
    r, session = tlsclient.get(p.tls_port, "m.test", ctx=ctx)
    return r


def test_client_certificates(pki, backend, start_proxy):
    p = start_proxy(config(pki, backend))
    for version in (None, ssl.TLSVersion.TLSv1_2):
        assert attempt(p, pki, "good", version).status == 200
        assert attempt(p, pki, "via_inter", version).status == 200
        for who in (None, "foreign", "expired"):
            # TLS 1.3 clients learn of the refusal on their first read
            try:
                r = attempt(p, pki, who, version)
                assert r.status == 0 and r.raw == b"", who
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
                pass
    # three refusals per version, each with its audit line
    log = p.wait_log(r'(?s)(failure="client_cert".*){6}')
    assert log.count('failure="client_cert"') == 6, log
    assert 'WARN TLS handshake failed peer=127.0.0.1:' in log
    assert 'sni="m.test" failure="client_cert" mtls=true reason=' in log
    assert re.search(r'failure="client_cert" mtls=true reason=.*expired', log)
    # the app without client_ca_cert_path does not ask for a certificate
    ctx = tlsclient.context(ca=pki["server_ca"])
    r, _ = tlsclient.get(p.tls_port, "open.test", ctx=ctx)
    assert r.status == 200


def test_no_resumption_for_mtls_apps(pki, backend, start_proxy):
    p = start_proxy(config(pki, backend))
    cert, key = pki["good"]
    ctx = tlsclient.context(ca=pki["server_ca"], cert=cert, key=key)
    r, session = tlsclient.get(p.tls_port, "m.test", ctx=ctx)
    assert r.status == 200
    assert session is None or not session.has_ticket
    r, _ = tlsclient.get(p.tls_port, "m.test", ctx=ctx, session=session)
    assert r.status == 200 and not r.tls["reused"]
    # a ticket of another app does not resume on the mTLS app either
    ctx_open = tlsclient.context(ca=pki["server_ca"], cert=cert, key=key)
    r, open_session = tlsclient.get(p.tls_port, "open.test", ctx=ctx_open)
    assert open_session.has_ticket
    r, _ = tlsclient.get(p.tls_port, "m.test", ctx=ctx_open, session=open_session)
    assert r.status == 200 and not r.tls["reused"]


def test_ca_without_subject_key_identifier_is_not_an_anchor(pki, backend, start_proxy):
    p = start_proxy(config(pki, backend, ca_key="no_ski_ca"))
    p.wait_log(r"ERROR Failed to read certs and keys, skip at this time: no usable client CA "
               r"certificate .*server_name=\"m\.test\"")
    # the app has no usable TLS: its SNI is unknown
    assert tlsclient.send_raw(p.tls_port, tlsclient.client_hello("m.test")) == b""
    p.wait_log(r'failure="unknown_sni"')
