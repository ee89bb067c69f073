#!/usr/bin/env python3
"""Memory that chat adds to idle Bilibili rooms (issue 14's target: 200 rooms with live_push on
add at most 20 MiB).

Runs one fake server (Python stdlib only) that answers Bilibili's API the daemon needs for an
offline room (room_init, nav, getInfoByRoom, getDanmuInfo) and speaks the chat WebSocket at
/sub (auth reply, the quirky heartbeat reply). Starts liverec twice with ROOMS offline rooms:
chat off, then danmaku + live_push on; waits until every chat is connected, lets it settle,
and compares the daemons' resident memory (VmRSS). Usage:

    python3 bench/chat_idle.py [path/to/liverec]      # ROOMS=200 SETTLE=20 by default
"""
import asyncio, base64, hashlib, json, os, struct, subprocess, sys, tempfile, time, urllib.request

ROOMS = int(os.environ.get("ROOMS", "200"))
SETTLE = int(os.environ.get("SETTLE", "20"))
FIX = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "platforms", "bilibili")
BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/liverec"


def fixture(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


INIT, INFO, NAV, DANMU = (fixture(n) for n in (
    "room_init-live.json", "getInfoByRoom-offline.json", "nav-anonymous.json", "getDanmuInfo.json"))
INIT["data"]["live_status"] = 0
PORT = 0
CONNECTED = 0


def packet(ver, op, body):
    return struct.pack(">IHHII", 16 + len(body), 16, ver, op, 1) + body


async def ws_send(writer, payload):
    n = len(payload)
    head = bytes([0x82]) + (bytes([n]) if n < 126 else bytes([126]) + struct.pack(">H", n))
    writer.write(head + payload)
    await writer.drain()


async def ws_read(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", await reader.readexactly(8))[0]
    mask = await reader.readexactly(4) if b1 & 0x80 else b"\0\0\0\0"
    data = bytearray(await reader.readexactly(n))
    for i in range(n):
        data[i] ^= mask[i % 4]
    return b0 & 0x0F, bytes(data)


async def chat(reader, writer, headers):
    global CONNECTED
    key = headers.get("sec-websocket-key", "")
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    await writer.drain()
    CONNECTED += 1
    try:
        while True:
            op, data = await ws_read(reader)
            if op == 8:
                return
            if op == 2 and len(data) >= 16:
                kind = struct.unpack(">I", data[8:12])[0]
                if kind == 7:
                    await ws_send(writer, packet(1, 8, b'{"code":0}'))
                elif kind == 2:
                    await ws_send(writer, packet(1, 3, struct.pack(">I", 1)) + data[16:])
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        CONNECTED -= 1


def answer(path, query):
    rid = int(query.get("id", query.get("room_id", "1")) or 1)
    if path == "/room/v1/Room/room_init":
        v = json.loads(json.dumps(INIT)); v["data"]["room_id"] = rid; v["data"]["short_id"] = 0
        return v
    if path == "/x/web-interface/nav":
        return NAV
    if path == "/xlive/web-room/v1/index/getInfoByRoom":
        v = json.loads(json.dumps(INFO)); v["data"]["room_info"]["room_id"] = rid
        return v
    if path == "/xlive/web-room/v1/index/getDanmuInfo":
        v = json.loads(json.dumps(DANMU))
        v["data"]["host_list"] = [{"host": "127.0.0.1", "port": 0, "ws_port": PORT, "wss_port": PORT}]
        return v
    return None


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return
    lines = head.decode("latin-1").split("\r\n")
    target = lines[0].split(" ")[1]
    headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    path, _, qs = target.partition("?")
    if path == "/sub":
        return await chat(reader, writer, headers)
    query = dict(p.split("=", 1) for p in qs.split("&") if "=" in p)
    v = answer(path, query)
    body = json.dumps(v).encode() if v is not None else b""
    status = b"200 OK" if v is not None else b"404 Not Found"
    writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    await writer.drain()
    writer.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def run_daemon(tmp, label, chat_keys):
    rooms = "".join(f'[[rooms]]\nurl = "https://live.bilibili.com/{1000 + i}"\n' for i in range(ROOMS))
    cfg = os.path.join(tmp, f"{label}.toml")
    with open(cfg, "w") as f:
        f.write(f'output_dir = "{tmp}/rec-{label}"\npoll_interval = "10m"\n'
                f'[control]\nlisten = "127.0.0.1:0"\n'
                f'[platforms.bilibili]\napi_base = "http://127.0.0.1:{PORT}"\nrequests_per_second = 50\nburst = 50\n'
                f'{chat_keys}{rooms}')
    log = open(os.path.join(tmp, f"{label}.log"), "w")
    p = subprocess.Popen([BIN, "run", "-c", cfg], stderr=log, stdout=subprocess.DEVNULL,
                         env={**os.environ, "RUST_LOG": "warn"})
    start = time.time()
    want = ROOMS if "live_push = true" in chat_keys else 0
    while time.time() - start < 120 and CONNECTED < want:
        await asyncio.sleep(0.5)
    took = time.time() - start
    await asyncio.sleep(SETTLE)
    rss = rss_kib(p.pid)
    connected = CONNECTED
    p.terminate()
    p.wait(timeout=30)
    while CONNECTED > 0:
        await asyncio.sleep(0.2)
    return rss, connected, took


async def main():
    global PORT
    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 16)
    PORT = server.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        off, _, _ = await run_daemon(tmp, "off", "danmaku = false\nlive_push = false\n")
        on, n, took = await run_daemon(tmp, "on", "danmaku = true\nlive_push = true\n")
    print(f"{ROOMS} idle Bilibili rooms, {BIN}")
    print(f"  chat off:            VmRSS {off / 1024:.1f} MiB")
    print(f"  live_push on:        VmRSS {on / 1024:.1f} MiB ({n} chat connections up after {took:.0f} s)")
    print(f"  added by chat:       {(on - off) / 1024:.1f} MiB (target: at most 20 MiB)")


asyncio.run(main())
