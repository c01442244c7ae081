"""One TLS app, a.test, in front of one backend: the test CA and leaf, and
the config (plaintext on {port}, TLS on {tls_port})."""
import certs


def make_pki(directory):
    ca = certs.make_ca()
    return {"ca": certs.write_ca(ca, str(directory)),
            "a.test": certs.make_leaf(ca, ["a.test"]).write(str(directory), "a.test")}


def config(pki, backend):
    crt, key = pki["a.test"]
    return f"""
listen_port = {{port}}
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
[apps.a]
server_name = "a.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{backend.port}" }}] }}]
tls = {{ tls_cert_path = "{crt}", tls_cert_key_path = "{key}" }}
"""
