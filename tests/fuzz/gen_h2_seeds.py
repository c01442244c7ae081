#!/usr/bin/python3
"""Writes the seed corpus of tests/fuzz/fuzz_h2_server.c: small HTTP/2
client byte streams made with Debian's python3-h2 and python3-hpack.

Each seed is two control bytes (see fuzz_h2_server.c: backend behaviour, how
the bytes are cut, half-close, small buffers, timer, drain) followed by what
a client sends after the connection preface, which the fuzz target writes
itself.

    /usr/bin/python3 tests/fuzz/gen_h2_seeds.py [tests/fuzz/corpus/h2_server]
"""
import os
import struct
import sys

import h2.config
import h2.connection
import h2.errors
import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# control byte
BE_LENGTH, BE_CHUNKED, BE_NO_BODY, BE_CLOSE, BE_BIG, BE_TRUNCATED, BE_HANGUP, BE_SILENT = range(8)
LATE = 0x08
CUT_FRAMES, CUT_PIECES, CUT_HASH = 0x10, 0x20, 0x30
HALF_CLOSE = 0x40
SMALL = 0x80
# second control byte
FIRE_TIMER, DRIBBLE, DRAIN = 0x1, 0x2, 0x4
# (BE_CHUNKED with DRIBBLE is left out of the seeds: a chunked response whose
# trailer arrives in pieces makes the worker spin, see the fuzzing report)


def client(validate=True):
    cfg = h2.config.H2Configuration(client_side=True, header_encoding=None,
                                    validate_outbound_headers=validate)
    c = h2.connection.H2Connection(config=cfg)
    c.initiate_connection()
    return c


def after_preface(c):
    out = c.data_to_send()
    assert out.startswith(PREFACE)
    return out[len(PREFACE):]


def frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def req(method, path, extra=(), authority=b"a.test"):
    return [(b":method", method), (b":scheme", b"http"), (b":authority", authority),
            (b":path", path)] + list(extra)


def settings_ack():
    return frame(4, 0x1, 0, b"")


def seeds():
    out = {}

    c = client()
    c.send_headers(1, req(b"GET", b"/", [(b"user-agent", b"seed")]), end_stream=True)
    out["get"] = bytes([BE_LENGTH, FIRE_TIMER]) + after_preface(c) + settings_ack()

    c = client()
    c.send_headers(1, req(b"POST", b"/upload", [(b"content-length", b"11")]))
    c.send_data(1, b"hello world", end_stream=True)
    out["post_length"] = bytes([BE_LENGTH | CUT_FRAMES, 0]) + after_preface(c)

    c = client()
    c.send_headers(1, req(b"POST", b"/stream", [(b"content-type", b"text/plain")]))
    for piece in (b"one ", b"two ", b"three"):
        c.send_data(1, piece)
    c.end_stream(1)
    out["post_stream"] = bytes([BE_CHUNKED | CUT_PIECES | LATE, 0]) + after_preface(c)

    c = client()
    c.send_headers(1, req(b"POST", b"/t", [(b"te", b"trailers"), (b"content-type", b"text/plain")]))
    c.send_data(1, b"body")
    c.send_headers(1, [(b"x-checksum", b"abc"), (b"x-more", b"1")], end_stream=True)
    out["trailers"] = bytes([BE_CHUNKED, 0]) + after_preface(c)

    c = client()
    msg = b"\x00" + struct.pack(">I", 5) + b"hello"  # one gRPC length-prefixed message
    c.send_headers(1, req(b"POST", b"/h2/pkg.Svc/Call", [(b"te", b"trailers"),
                                                         (b"content-type", b"application/grpc"),
                                                         (b"grpc-timeout", b"1S")]))
    c.send_data(1, msg)
    c.send_headers(1, [(b"grpc-trailer", b"x")], end_stream=True)
    out["grpc_h2_upstream"] = bytes([BE_LENGTH | CUT_FRAMES, DRIBBLE]) + after_preface(c)

    c = client()
    c.send_headers(1, req(b"POST", b"/upload", [(b"content-length", b"100")]))
    c.send_data(1, b"partial")
    c.reset_stream(1, h2.errors.ErrorCodes.CANCEL)
    c.send_headers(3, req(b"GET", b"/after-reset"), end_stream=True)
    out["rst_stream"] = bytes([BE_LENGTH | LATE | CUT_FRAMES, 0]) + after_preface(c)

    c = client()
    c.ping(b"12345678")
    c.increment_flow_control_window(1 << 20)
    c.send_headers(1, req(b"GET", b"/big"), end_stream=True)
    c.increment_flow_control_window(200000, stream_id=1)
    c.ping(b"abcdefgh")
    out["big_window_update"] = bytes([BE_BIG | SMALL | CUT_FRAMES, 0]) + after_preface(c) + settings_ack()

    # a header block cut into HEADERS + CONTINUATION + CONTINUATION
    c = client()
    enc = hpack.Encoder()
    block = enc.encode(req(b"GET", b"/cont", [(b"x-long", b"v" * 40), (b"accept", b"*/*")]))
    a, b = len(block) // 3, 2 * len(block) // 3
    out["continuation"] = bytes([BE_LENGTH | CUT_FRAMES, 0]) + after_preface(c) + \
        frame(1, 0x1, 1, block[:a]) + frame(9, 0, 1, block[a:b]) + frame(9, 0x4, 1, block[b:])

    c = client()
    c.send_headers(1, req(b"GET", b"/"), end_stream=True)
    c.send_headers(3, req(b"GET", b"/dead/x"), end_stream=True)
    c.send_headers(5, req(b"GET", b"/sticky/y", [(b"cookie", b"a=1; rpxy_srv_id=zzz; b=2"),
                                                 (b"x-forwarded-for", b"10.0.0.1, 10.0.0.2"),
                                                 (b"forwarded", b"for=192.0.2.1;proto=https")]),
                   end_stream=True)
    c.send_headers(7, req(b"HEAD", b"/h2/head"), end_stream=True)
    out["many_streams"] = bytes([BE_LENGTH | CUT_HASH, 0]) + after_preface(c)

    c = client()
    c.send_headers(1, req(b"GET", b"/p", [(b"x-pad", b"1")]), end_stream=False,
                   priority_weight=200, priority_depends_on=0, priority_exclusive=True)
    c.prioritize(1, weight=16, depends_on=0)
    c.send_data(1, b"padded", pad_length=7, end_stream=True)
    out["priority_padding"] = bytes([BE_NO_BODY, 0]) + after_preface(c) + settings_ack()

    c = client()
    c.send_headers(1, req(b"GET", b"/bye"), end_stream=True)
    c.close_connection()
    out["goaway"] = bytes([BE_CLOSE | HALF_CLOSE, FIRE_TIMER]) + after_preface(c)

    c = client()
    c.send_headers(1, req(b"POST", b"/e", [(b"content-length", b"3"), (b"expect", b"100-continue")]))
    c.send_data(1, b"abc", end_stream=True)
    c.send_headers(3, req(b"POST", b"/e", [(b"expect", b"something-else")]), end_stream=True)
    out["expect"] = bytes([BE_BIG | CUT_PIECES, 0]) + after_preface(c)

    c = client(validate=False)  # Host and :authority disagree on stream 3
    fields = [(b"x-field-%d" % i, b"value") for i in range(110)]
    c.send_headers(1, req(b"GET", b"/many", fields), end_stream=True)
    c.send_headers(3, req(b"GET", b"/", [(b"host", b"other.test")], authority=b"b.test:8080"),
                   end_stream=True)
    out["too_many_fields"] = bytes([BE_TRUNCATED, 0]) + after_preface(c)

    c = client(validate=False)  # h2 wants :path even on CONNECT
    c.send_headers(1, [(b":method", b"CONNECT"), (b":authority", b"a.test:443")], end_stream=False)
    c.send_headers(3, req(b"OPTIONS", b"*"), end_stream=True)
    c.send_headers(5, req(b"GET", b"/silent"), end_stream=True)
    out["connect_options"] = bytes([BE_SILENT | HALF_CLOSE, FIRE_TIMER]) + after_preface(c)

    c = client()
    c.send_headers(1, req(b"GET", b"/hangup"), end_stream=True)
    c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 10,
                       h2.settings.SettingCodes.MAX_FRAME_SIZE: 16384})
    out["hangup_settings"] = bytes([BE_HANGUP | SMALL, 0]) + after_preface(c)

    # one over each flood bound of src/http/h2_flood.h
    c = client()
    for i in range(101):
        c.ping(b"%08d" % i)
    out["flood_ping"] = bytes([BE_LENGTH, 0]) + after_preface(c)

    c = client()
    out["flood_settings"] = bytes([BE_LENGTH, 0]) + after_preface(c) + frame(4, 0, 0, b"") * 51

    c = client()
    c.send_headers(1, req(b"POST", b"/empty"))
    out["flood_empty_data"] = bytes([BE_LENGTH, 0]) + after_preface(c) + frame(0, 0, 1, b"") * 101

    c = client()
    prio = struct.pack(">IB", 1, 15)  # depends on stream 1, weight 16
    out["flood_priority"] = bytes([BE_LENGTH, 0]) + after_preface(c) + frame(2, 0, 3, prio) * 1001

    c = client()
    for i in range(201):
        sid = 1 + 2 * i
        c.send_headers(sid, req(b"GET", b"/r"), end_stream=True)
        c.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
    out["flood_rst"] = bytes([BE_SILENT, 0]) + after_preface(c)

    # a drain (GOAWAY) between two streams; the first answered late
    c = client()
    c.send_headers(1, req(b"GET", b"/first"), end_stream=True)
    first = after_preface(c)
    c.send_headers(3, req(b"GET", b"/second"), end_stream=True)
    for i in range(3):
        c.ping(b"%08d" % i)  # so that the first half ends after stream 1
    out["drain"] = bytes([BE_CHUNKED | LATE | CUT_FRAMES, DRAIN]) + first + c.data_to_send()

    c = client()
    c.send_headers(1, req(b"GET", b"/h2/cut"), end_stream=True)
    c.send_headers(3, req(b"GET", b"/cut"), end_stream=True)
    out["truncated"] = bytes([BE_TRUNCATED, DRIBBLE]) + after_preface(c)

    return out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                           "corpus", "h2_server")
    os.makedirs(d, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        print("%-20s %5d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
