"""A reload that changes nothing changes nothing (issue 12): when the file
changes but says the same (comments, whitespace, key order, table syntax),
the proxy logs so at debug and keeps everything as it runs: no
`Configuration updated.`, no new runtime, so an HTTP/2 connection gets no
GOAWAY. A real change after it is applied as usual."""
import socket
import time

import h2.config
import h2.connection
import h2.events

from backends import EchoBackend


def config(port):
    return f"""listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "app.test"
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{port}" }}] }}]
"""


def same_config(port, listen):
    # the same settings: comments, another key order, blank lines, literal
    # strings, and an array of tables instead of the inline array
    return f"""# edited by hand
listen_address_v4 = '127.0.0.1'   # one address

listen_port = {listen}

[apps.app]
server_name = "app.test"

[[apps.app.reverse_proxy]]
upstream = [ {{ location = '127.0.0.1:{port}' }} ]
"""


def h2_get(conn, s, stream_id):
    conn.send_headers(stream_id, [(":method", "GET"), (":scheme", "http"),
                                  (":authority", "app.test"), (":path", "/")], end_stream=True)
    s.sendall(conn.data_to_send())
    status, goaway = None, False
    while status is None:
        data = s.recv(65536)
        assert data, "connection closed"
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                status = dict(ev.headers)[b":status"]
            if isinstance(ev, h2.events.ConnectionTerminated):
                goaway = True
        s.sendall(conn.data_to_send())
    return status, goaway


def goaway_within(conn, s, seconds):
    s.settimeout(seconds)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ConnectionTerminated):
                    return True
    except socket.timeout:
        return False
    finally:
        s.settimeout(5)


def test_same_configuration_is_not_reloaded(start_proxy):
    be = EchoBackend()
    try:
        p = start_proxy(config(be.port), env={"RUST_LOG": "debug"})
        listen = p.port
        s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        s.sendall(conn.data_to_send())
        assert h2_get(conn, s, 1) == (b"200", False)

        p.path.write_text(same_config(be.port, listen))
        p.wait_log(r"DEBUG .*rpxy\.toml changed but says the same: nothing to reload")
        assert not goaway_within(conn, s, 1.0), "the unchanged reload restarted the service"
        assert h2_get(conn, s, 3) == (b"200", False)
        assert "Configuration updated." not in p.log()

        # a real change: applied, and the HTTP/2 connection is told to go
        p.path.write_text(same_config(be.port, listen).replace(
            "# edited by hand", "# edited by hand\nmax_clients = 1000"))
        p.wait_log(r"INFO Configuration updated\.")
        assert goaway_within(conn, s, 5.0)
        s.close()
    finally:
        be.stop()
