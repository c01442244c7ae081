"""Test certificates made on the fly with python3-cryptography: a CA, an
intermediate, server and client leaves, with the key types and encodings
the proxy must read (SPEC 8.1)."""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def new_key(kind="ec"):
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def _sign_hash(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


class Cert:
    def __init__(self, cert, key):
        self.cert, self.key = cert, key

    def cert_pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, fmt="pkcs8"):
        formats = {
            "pkcs8": serialization.PrivateFormat.PKCS8,
            "traditional": serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1 / SEC1
        }
        return self.key.private_bytes(serialization.Encoding.PEM, formats[fmt],
                                      serialization.NoEncryption())

    def write(self, directory, name, chain=(), key_fmt="pkcs8", mode=0o600):
        """Writes NAME.crt (this certificate, then chain) and NAME.key."""
        crt = os.path.join(directory, name + ".crt")
        key = os.path.join(directory, name + ".key")
        with open(crt, "wb") as f:
            f.write(self.cert_pem() + b"".join(c.cert_pem() for c in chain))
        with open(key, "wb") as f:
            f.write(self.key_pem(key_fmt))
        os.chmod(key, mode)
        return crt, key


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn="rpxy test CA", issuer=None, kind="ec", ski=True):
    key = new_key(kind)
    b = (x509.CertificateBuilder().subject_name(_name(cn))
         .issuer_name(issuer.cert.subject if issuer else _name(cn))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(NOW - DAY).not_valid_after(NOW + 30 * DAY)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                      content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False,
                                      encipher_only=False, decipher_only=False), critical=True))
    if ski:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
    if issuer:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.key.public_key()), critical=False)
    signer = issuer.key if issuer else key
    return Cert(b.sign(signer, _sign_hash(signer)), key)


def make_leaf(issuer, names=(), client=False, kind="ec", expired=False, cn=None, ips=()):
    key = new_key(kind)
    before, after = (NOW - 10 * DAY, NOW - DAY) if expired else (NOW - DAY, NOW + 30 * DAY)
    b = (x509.CertificateBuilder().subject_name(_name(cn or (names[0] if names else "client")))
         .issuer_name(issuer.cert.subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(before).not_valid_after(after)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage(
             [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]),
             critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer.key.public_key()), critical=False))
    if names or ips:
        sans = [x509.DNSName(n) for n in names]
        sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return Cert(b.sign(issuer.key, _sign_hash(issuer.key)), key)


def write_ca(ca, directory, name="ca.pem", extra=()):
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(ca.cert_pem() + b"".join(c.cert_pem() for c in extra))
    return path
