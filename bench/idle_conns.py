#!/usr/bin/python3
"""Open many idle HTTP/1.1 keep-alive connections (bench/run.sh --memory).

    idle_conns.py HOST PORT COUNT [--concurrency N] [--timeout SECONDS]

Opens COUNT connections to HOST:PORT, at most N (default 256) being set up at
once. Each sends one GET, reads the whole response (Content-Length framed)
and then stays open, idle. When every connection is done it prints

    ready <ok> <failed>

and waits for SIGUSR1 (or SIGTERM/SIGINT). It then counts how many of the
idle connections the server has closed meanwhile, prints

    open <still-open>

and exits. Failure reasons go to stderr. Standard library only.
"""

import argparse
import collections
import errno
import resource
import select
import selectors
import signal
import socket
import sys
import time


class Conn:
    __slots__ = ("sock", "phase", "buf")

    def __init__(self, sock):
        self.sock = sock
        self.phase = "connect"
        self.buf = b""


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft


def response_complete(buf):
    """None while incomplete, else the status code (int, 0 for garbage)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        return 0
    status = int(parts[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            value = value.strip()
            if not value.isdigit():
                return 0
            length = int(value)
    if len(buf) - (end + 4) < length:
        return None
    return status


def open_all(host, port, count, concurrency, timeout):
    request = ("GET / HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: bench-idle-conns\r\n\r\n"
               % (host, port)).encode()
    sel = selectors.DefaultSelector()
    idle = []
    failures = collections.Counter()
    started = 0
    in_flight = 0
    deadline = time.monotonic() + timeout

    def fail(conn, why):
        nonlocal in_flight
        failures[why] += 1
        sel.unregister(conn.sock)
        conn.sock.close()
        in_flight -= 1

    while (started < count or in_flight) and time.monotonic() < deadline:
        while started < count and in_flight < concurrency:
            started += 1
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError as e:
                failures["socket: " + errno.errorcode.get(e.errno, str(e.errno))] += 1
                continue
            sock.setblocking(False)
            err = sock.connect_ex((host, port))
            if err not in (0, errno.EINPROGRESS):
                failures["connect: " + errno.errorcode.get(err, str(err))] += 1
                sock.close()
                continue
            sel.register(sock, selectors.EVENT_WRITE, Conn(sock))
            in_flight += 1
        for key, _ in sel.select(timeout=0.5):
            conn = key.data
            sock = conn.sock
            if conn.phase == "connect":
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(conn, "connect: " + errno.errorcode.get(err, str(err)))
                    continue
                try:
                    sent = sock.send(request)
                except OSError as e:
                    fail(conn, "send: " + errno.errorcode.get(e.errno, str(e.errno)))
                    continue
                if sent != len(request):
                    fail(conn, "send: short")
                    continue
                conn.phase = "read"
                sel.modify(sock, selectors.EVENT_READ, conn)
                continue
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                fail(conn, "recv: " + errno.errorcode.get(e.errno, str(e.errno)))
                continue
            if not data:
                fail(conn, "closed before the response ended")
                continue
            conn.buf += data
            status = response_complete(conn.buf)
            if status is None:
                continue
            if status != 200:
                fail(conn, "status %d" % status)
                continue
            sel.unregister(sock)
            in_flight -= 1
            idle.append(sock)
    if in_flight:
        failures["timed out"] += in_flight
    failures["never started"] += count - started
    sel.close()
    return idle, failures


def still_open(socks):
    """How many sockets the peer has not closed (no EOF/HUP/error pending)."""
    poller = select.poll()
    for s in socks:
        poller.register(s.fileno(), select.POLLIN | select.POLLRDHUP)
    closed = len(poller.poll(0))
    return len(socks) - closed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("--concurrency", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=180.0)
    args = ap.parse_args()

    # Block the signals now so none is lost before sigwait().
    wait_for = {signal.SIGUSR1, signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, wait_for)

    limit = raise_nofile(args.count + 64)
    if limit < args.count + 16:
        print("idle_conns: RLIMIT_NOFILE is %d, too low for %d connections" % (limit, args.count),
              file=sys.stderr)

    idle, failures = open_all(args.host, args.port, args.count, args.concurrency, args.timeout)
    failed = sum(failures.values())
    for why, n in sorted(failures.items()):
        if n:
            print("idle_conns: %d failed: %s" % (n, why), file=sys.stderr)
    print("ready %d %d" % (len(idle), failed), flush=True)

    signal.sigwait(wait_for)
    print("open %d" % still_open(idle), flush=True)
    for s in idle:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
