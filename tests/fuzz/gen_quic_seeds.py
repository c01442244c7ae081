#!/usr/bin/env python3
"""Writes the HTTP/3-mode seeds of fuzz_quic_server into
tests/fuzz/corpus/quic_server/ (the raw and Initial ones need QUIC crypto:
RPXY_QUIC_SEEDS=<dir> build/fuzz/fuzz/fuzz_quic_server writes those).

HTTP/3 mode input: byte 0 = 2 | backend << 2 | drain 0x10 | mute 0x20, then
operations: a byte (stream slot in bits 0-2: 0-3 request streams, 4-7
unidirectional streams; what in bits 3-5), and for DATA / DATA_FIN a
2-byte length and the bytes."""
import os
import struct

DATA, DATA_FIN, RESET, STOP, PUMP, UPDATE, MUTE, CLOSE = range(8)
CONTROL, QENC, QDEC, EXTRA = 4, 5, 6, 7


def op(what, slot=0, data=None):
    b = bytes([slot | what << 3])
    if what in (DATA, DATA_FIN):
        b += struct.pack(">H", len(data)) + data
    return b


def varint(n):
    if n < 0x40:
        return bytes([n])
    if n < 0x4000:
        return struct.pack(">H", 0x4000 | n)
    return struct.pack(">I", 0x80000000 | n)


def frame(ftype, payload):
    return varint(ftype) + varint(len(payload)) + payload


def literal(name, value):
    """A field line with a literal name (no Huffman)."""
    assert len(name) < 7 and len(value) < 127
    return bytes([0x20 | len(name)]) + name + bytes([len(value)]) + value


def headers(method=0xD1, path=b"/", extra=b""):
    # no dynamic table; :method (static 17 GET, 20 POST), :scheme https (23),
    # :path (static 1 "/" or name 1 with a value), :authority localhost
    block = b"\x00\x00" + bytes([method, 0xD7])
    block += b"\xc1" if path == b"/" else b"\x51" + bytes([len(path)]) + path
    block += b"\x50\x09localhost" + extra
    return frame(1, block)


SETTINGS = frame(4, varint(1) + varint(0) + varint(6) + varint(16384) + varint(7) + varint(0))
CONTROL_OPEN = op(DATA, CONTROL, b"\x00" + SETTINGS)
QPACK_OPEN = op(DATA, QENC, b"\x02") + op(DATA, QDEC, b"\x03")
GET = headers()
POST = headers(0xD4, b"/upload")

seeds = {
    "h3-get": bytes([2]) + CONTROL_OPEN + QPACK_OPEN + op(DATA_FIN, 0, GET) + op(PUMP),
    "h3-get-no-control": bytes([2]) + op(DATA_FIN, 0, GET) + op(PUMP),
    "h3-post-body": bytes([2]) + CONTROL_OPEN + op(DATA, 0, POST)
    + op(DATA, 0, frame(0, b"hello ")) + op(DATA_FIN, 0, frame(0, b"world")) + op(PUMP),
    "h3-trailers": bytes([2]) + CONTROL_OPEN + op(DATA, 0, POST) + op(DATA, 0, frame(0, b"abc"))
    + op(DATA_FIN, 0, frame(1, b"\x00\x00" + literal(b"x-t", b"1"))) + op(PUMP),
    "h3-big-response": bytes([2 | 1 << 2]) + CONTROL_OPEN + op(DATA_FIN, 0, GET) + op(PUMP),
    "h3-big-response-mute": bytes([2 | 1 << 2 | 0x20]) + CONTROL_OPEN + op(DATA_FIN, 0, GET)
    + op(PUMP),
    "h3-backend-hangup": bytes([2 | 3 << 2]) + CONTROL_OPEN + op(DATA_FIN, 0, GET) + op(PUMP),
    "h3-backend-close": bytes([2 | 2 << 2]) + CONTROL_OPEN + op(DATA_FIN, 0, GET) + op(PUMP),
    "h3-reset": bytes([2]) + CONTROL_OPEN + op(DATA, 0, POST) + op(RESET, 0) + op(PUMP),
    "h3-stop-sending": bytes([2 | 1 << 2]) + CONTROL_OPEN + op(DATA_FIN, 0, GET) + op(STOP, 0)
    + op(PUMP),
    "h3-two-requests-drain": bytes([2 | 0x10]) + CONTROL_OPEN + op(DATA_FIN, 0, GET)
    + op(DATA_FIN, 1, headers(path=b"/b")) + op(PUMP) + op(DATA_FIN, 2, GET) + op(PUMP),
    "h3-key-update": bytes([2]) + CONTROL_OPEN + op(PUMP) + op(UPDATE) + op(DATA_FIN, 0, GET)
    + op(PUMP),
    "h3-goaway-close": bytes([2]) + CONTROL_OPEN + op(DATA, CONTROL, frame(7, varint(0)))
    + op(PUMP) + op(CLOSE),
    "h3-bad-frame-on-control": bytes([2]) + op(DATA, CONTROL, b"\x00" + frame(0, b"x"))
    + op(PUMP),
    "h3-unknown-uni": bytes([2]) + CONTROL_OPEN + op(DATA, EXTRA, varint(0x21) + b"grease")
    + op(DATA_FIN, 0, GET) + op(PUMP),
    "h3-connect": bytes([2]) + CONTROL_OPEN
    + op(DATA_FIN, 0, frame(1, b"\x00\x00\xcf\x50\x0elocalhost:443")) + op(PUMP),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "quic_server")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {out}")
