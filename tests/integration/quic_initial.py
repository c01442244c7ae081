"""QUIC v1 Initial packets built and read in Python (RFC 9000 17.2.2, RFC
9001 5): enough of a client to reach the server's decisions that come
after packet protection (tokens accepted, CRYPTO data refused) without a
real TLS stack. Keys, AEAD and header protection from python3-cryptography."""
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives import hmac

SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")


def _extract(salt, ikm):
    h = hmac.HMAC(salt, hashes.SHA256())
    h.update(ikm)
    return h.finalize()


def _expand_label(secret, label, length):
    full = b"tls13 " + label
    info = struct.pack(">H", length) + bytes([len(full)]) + full + b"\0"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def keys(dcid, side):
    """(key, iv, hp) of the Initial keys of side ("client" or "server")."""
    secret = _expand_label(_extract(SALT_V1, dcid), f"{side} in".encode(), 32)
    return (_expand_label(secret, b"quic key", 16), _expand_label(secret, b"quic iv", 12),
            _expand_label(secret, b"quic hp", 16))


def varint(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return struct.pack(">H", 0x4000 | n)
    return struct.pack(">I", 0x80000000 | n)


def read_varint(b, i):
    first = b[i]
    size = 1 << (first >> 6)
    v = first & 0x3f
    for k in range(1, size):
        v = (v << 8) | b[i + k]
    return v, i + size


def _mask(hp, sample):
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    return enc.update(sample) + enc.finalize()


def client_initial(dcid, scid, frames, token=b"", pn=0, size=1200):
    """A protected client Initial carrying frames, padded to size bytes."""
    key, iv, hp = keys(dcid, "client")
    pn_bytes = struct.pack(">I", pn)  # 4-byte packet number
    head = (bytes([0xc3]) + struct.pack(">I", 1) + bytes([len(dcid)]) + dcid
            + bytes([len(scid)]) + scid + varint(len(token)) + token)
    # payload length so that the datagram is `size` bytes
    fixed = len(head) + 2 + 4 + 16
    plain = frames + b"\0" * max(0, size - fixed - len(frames))
    length = varint(4 + len(plain) + 16)
    if len(length) == 1:
        length = struct.pack(">H", 0x4000 | (4 + len(plain) + 16))
    header = head + length + pn_bytes
    nonce = bytes(a ^ b for a, b in zip(iv, b"\0" * 8 + pn_bytes))
    sealed = AESGCM(key).encrypt(nonce, plain, header)
    packet = bytearray(header + sealed)
    pn_off = len(header) - 4
    mask = _mask(hp, bytes(packet[pn_off + 4:pn_off + 20]))
    packet[0] ^= mask[0] & 0x0f
    for k in range(4):
        packet[pn_off + k] ^= mask[1 + k]
    return bytes(packet)


def server_initial_frames(datagram, dcid):
    """The frames of the first server Initial in datagram (dcid: the
    client's original DCID, which keys the Initials), or None."""
    key, iv, hp = keys(dcid, "server")
    b = datagram
    if not b or not b[0] & 0x80 or (b[0] & 0x30) >> 4 != 0:
        return None
    i = 5
    i += 1 + b[i]
    i += 1 + b[i]
    tlen, i = read_varint(b, i)
    i += tlen
    length, i = read_varint(b, i)
    pn_off = i
    mask = _mask(hp, bytes(b[pn_off + 4:pn_off + 20]))
    first = b[0] ^ (mask[0] & 0x0f)
    pn_len = (first & 0x03) + 1
    pn = bytes(b[pn_off + k] ^ mask[1 + k] for k in range(pn_len))
    header = bytes([first]) + bytes(b[1:pn_off]) + pn
    nonce = bytearray(iv)
    for k in range(pn_len):
        nonce[12 - pn_len + k] ^= pn[k]
    sealed = bytes(b[pn_off + pn_len:pn_off + length])
    return AESGCM(key).decrypt(bytes(nonce), sealed, header)


def connection_close_code(frames):
    """The error code of a CONNECTION_CLOSE (0x1c) among frames, or None."""
    i = 0
    while i < len(frames):
        t = frames[i]
        if t == 0x00:
            i += 1
        elif t == 0x02 or t == 0x03:  # ACK
            _, i = read_varint(frames, i + 1)
            for _ in range(2):
                _, i = read_varint(frames, i)
            n, i = read_varint(frames, i)
            _, i = read_varint(frames, i)
            for _ in range(2 * n):
                _, i = read_varint(frames, i)
            if t == 0x03:
                for _ in range(3):
                    _, i = read_varint(frames, i)
        elif t == 0x1c:
            code, _ = read_varint(frames, i + 1)
            return code
        elif t == 0x06:  # CRYPTO
            _, i = read_varint(frames, i + 1)
            n, i = read_varint(frames, i)
            i += n
        else:
            return None
    return None


def crypto_frame(data, offset=0):
    return b"\x06" + varint(offset) + varint(len(data)) + data


def new_ids():
    return os.urandom(8), os.urandom(8)
