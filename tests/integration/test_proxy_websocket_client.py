"""A real WebSocket client and server (Debian's python3-websockets) talking
through the proxy: text and binary messages, a large message, close."""
import asyncio
import threading

import websockets

from conftest import free_port


def start_ws_server(port):
    ready = threading.Event()
    state = {}

    async def echo(ws, path=None):
        state["path"] = ws.path if hasattr(ws, "path") else path
        async for message in ws:
            await ws.send(message)

    async def main():
        async with websockets.serve(echo, "127.0.0.1", port, max_size=None):
            state["loop"] = asyncio.get_running_loop()
            state["stop"] = asyncio.Event()
            ready.set()
            await state["stop"].wait()

    t = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    t.start()
    ready.wait(5)

    def stop():
        state["loop"].call_soon_threadsafe(state["stop"].set)
        t.join(5)
    return state, stop


def test_websocket_client_through_proxy(start_proxy):
    port = free_port()
    state, stop = start_ws_server(port)
    p = start_proxy(f"""
listen_port = {{port}}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "localhost"
[[apps.app.reverse_proxy]]
path = "/chat"
replace_path = "/ws"
upstream = [{{ location = "127.0.0.1:{port}" }}]
""")

    async def client():
        async with websockets.connect(f"ws://localhost:{p.port}/chat/room1", max_size=None) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x00\x01\x02")
            assert await ws.recv() == b"\x00\x01\x02"
            big = "x" * 3_000_000
            await ws.send(big)
            assert await ws.recv() == big
            await ws.close()
            assert ws.close_code == 1000

    asyncio.run(client())
    assert state["path"] == "/ws/room1"
    p.wait_log(r"GET /chat/room1 HTTP/1\.1 -- 101 Switching Protocols")
    stop()


def test_secure_websocket_through_the_tls_listener(tmp_path, start_proxy):
    # wss:// from the client, TLS terminated by the proxy, ws:// to the backend
    import ssl

    import certs
    ca = certs.make_ca()
    crt, key = certs.make_leaf(ca, ["localhost"]).write(str(tmp_path), "localhost")
    port = free_port()
    state, stop = start_ws_server(port)
    p = start_proxy(f"""
listen_port_tls = {{tls_port}}
listen_address_v4 = "127.0.0.1"
[apps.app]
server_name = "localhost"
tls = {{ tls_cert_path = "{crt}", tls_cert_key_path = "{key}" }}
reverse_proxy = [{{ upstream = [{{ location = "127.0.0.1:{port}" }}] }}]
""")
    ctx = ssl.create_default_context(cafile=certs.write_ca(ca, str(tmp_path)))

    async def client():
        async with websockets.connect(f"wss://localhost:{p.tls_port}/live", ssl=ctx,
                                      max_size=None) as ws:
            for message in ("hello", b"\x00\x01", "y" * 2_000_000):
                await ws.send(message)
                assert await ws.recv() == message
            await ws.close()

    asyncio.run(client())
    assert state["path"] == "/live"
    stop()
