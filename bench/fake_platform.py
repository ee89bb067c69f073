#!/usr/bin/env python3
"""A fake Bilibili or Douyin with N rooms, for bench/scale.sh (python3 stdlib only).

One asyncio HTTP/1.1 server (keep-alive, thousands of small answers a second) that answers the
platform's API like the real one (answers built from tests/fixtures/platforms/, read at start)
and serves each live room's FLV from the same port, paced at --rate bytes/s: the bytes of
tests/fixtures/media/flv_640x360_20s.flv looped with rising timestamps, until the live ends.

Bilibili: room_init, nav (wbi keys; signatures are not checked), getInfoByRoom, getRoomPlayInfo,
get_status_info_by_uids (GET `uids[]=..` and POST `{"uids":[..]}`), getRoomBaseInfo, get_info and
the legacy playUrl; getDanmuInfo and the chat WebSocket at /sub on the same port (auth and
heartbeat replies, and the `LIVE` push when a room goes live), so the daemon's `live_push` runs
as it does for a user. Douyin (--platform douyin): the home page (sets `ttwid`), the ttwid register
endpoint and webcast/room/web/enter/ (any non-empty a_bogus; no ttwid or no a_bogus gets the
real service's empty 200).

Rooms: room ids 30000001.., uids 700000001.. (Bilibili); web_rids 80000000001.. (Douyin). The
schedule comes from --seed: --live-at-start rooms are live from t0, --go-live more go live at
random times in [--go-live-from, --go-live-within] s; every live ends at --live-end s (or after
--live-for s). t0 is this process's start, or the CLOCK_MONOTONIC time POSTed to
/_bench/start?t0=... (the driver's clock: time.monotonic() is one clock for every process).

Counters, not counted as API requests: GET /_bench/schedule, GET /_bench/stats (requests by
endpoint, per-room status checks, first media request per live, requests per 10 s).

Usage: fake_platform.py --rooms 1000 --platform bilibili --seed 1 [--port 0]; prints
"PORT <n>" on stdout once it listens.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import statistics
import struct
import sys
import time
import urllib.parse
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures", "platforms")
MEDIA = os.path.join(ROOT, "tests", "fixtures", "media", "flv_640x360_20s.flv")
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
BILI_ROOM0, BILI_UID0, DOUYIN_RID0 = 30_000_000, 700_000_000, 80_000_000_000
STREAM0 = 100_000_000_000_000_000


def fixture(platform, name):
    with open(os.path.join(FIX, platform, name), encoding="utf-8") as f:
        return json.load(f)


def fixture_text(platform, name):
    with open(os.path.join(FIX, platform, name), encoding="utf-8") as f:
        return f.read()


class Room:
    __slots__ = ("idx", "room_id", "uid", "web_rid", "start", "end", "first_media",
                 "media_requests", "checks", "first_check", "last_check", "inits")

    def __init__(self, idx):
        self.idx = idx
        self.room_id = BILI_ROOM0 + idx
        self.uid = BILI_UID0 + idx
        self.web_rid = str(DOUYIN_RID0 + idx)
        self.start = self.end = None  # the live window, seconds after t0
        self.first_media = None
        self.media_requests = 0
        self.checks = 0  # status answers that covered this room
        self.first_check = None
        self.last_check = None
        self.inits = 0  # room_init answers (resolution)


class Flv:
    """The fixture's tags, re-emitted round after round with timestamps that keep rising (the
    script tag and sequence headers only in the first round), as one endless live stream."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        self.header = data[:13]
        self.tags, at = [], 13
        while at + 11 <= len(data):
            kind = data[at] & 0x1F
            size = int.from_bytes(data[at + 1:at + 4], "big")
            ts = int.from_bytes(data[at + 4:at + 7], "big") | (data[at + 7] << 24)
            body = data[at + 11:at + 11 + size]
            seq = len(body) > 1 and ((kind == 9 and body[1] == 0)
                                     or (kind == 8 and body[0] >> 4 == 10 and body[1] == 0))
            self.tags.append((kind, ts, body, kind == 18 or seq))
            at += 11 + size + 4
        self.span = self.tags[-1][1] + 40

    def blocks(self):
        yield self.header
        rnd = 0
        while True:
            for kind, ts, body, header in self.tags:
                if rnd and header:
                    continue
                t = ts + rnd * self.span
                yield (bytes([kind]) + len(body).to_bytes(3, "big") + (t & 0xFFFFFF).to_bytes(3, "big")
                       + bytes([(t >> 24) & 0xFF, 0, 0, 0]) + body + (len(body) + 11).to_bytes(4, "big"))
            rnd += 1


class Fake:
    def __init__(self, a):
        self.a = a
        self.t0 = time.monotonic()
        self.rooms = [Room(i) for i in range(1, a.rooms + 1)]
        self.by_room_id = {r.room_id: r for r in self.rooms}
        self.by_uid = {r.uid: r for r in self.rooms}
        self.by_web_rid = {r.web_rid: r for r in self.rooms}
        self.flv = Flv(a.flv)
        self.counts = {}
        self.gaps = []  # seconds between two status checks of the same room
        self.buckets = {}  # API requests per 10 s after t0
        self.unknown = {}
        self.media_bytes = 0
        self.streams_open = 0
        self.ttwid = "1%7Cbench-ttwid%7C1763712000%7C" + "0" * 64
        self.chats = {}  # room id -> open chat connections (their writers)
        self.chat_auths = 0
        self.live_pushed = set()
        self.pusher = None
        self.schedule(random.Random(a.seed))
        if a.platform == "bilibili":
            self.tpl = {n: fixture("bilibili", n + ".json") for n in (
                "room_init-live", "room_init-not-found", "nav-anonymous", "getInfoByRoom-live",
                "getRoomPlayInfo-live", "getRoomPlayInfo-offline", "playUrl-v1", "getDanmuInfo")}
        else:
            self.tpl = {n: fixture("douyin", n + ".json") for n in ("web_enter-live", "web_enter-offline")}
            line = fixture_text("douyin", "ttwid_register-set-cookie.txt").strip()
            self.ttwid_attrs = line.split(";", 1)[1] if ";" in line else ""

    def schedule(self, rng):
        a = self.a
        n_live = min(a.live_at_start + a.go_live, len(self.rooms))
        picked = rng.sample(self.rooms, n_live)
        for k, r in enumerate(picked):
            r.start = 0.0 if k < a.live_at_start else round(rng.uniform(a.go_live_from, a.go_live_within), 1)
            r.end = a.live_end if a.live_for <= 0 else min(a.live_end, r.start + a.live_for)

    def now(self):
        return time.monotonic() - self.t0

    def live(self, r):
        t = self.now()
        return r.start is not None and r.start <= t < r.end

    def live_since_unix(self, r):
        return int(time.time() - (self.now() - r.start)) if r.start is not None else 0

    def session(self, r):
        return str(7_300_000_000_000_000_000 + r.idx * 10)

    def count(self, name):
        self.counts[name] = self.counts.get(name, 0) + 1
        b = int(self.now() // 10)
        self.buckets[b] = self.buckets.get(b, 0) + 1

    def checked(self, r):
        now = self.now()
        r.checks += 1
        if r.first_check is None:
            r.first_check = round(now, 2)
        if r.last_check is not None and r.start is None:
            # How often an idle room (one never live in this run) is checked.
            self.gaps.append(now - r.last_check)
        r.last_check = now

    # ---- HTTP plumbing ----

    async def conn(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                parts = line.decode("latin-1").split()
                if len(parts) < 2:
                    break
                method, target = parts[0], parts[1]
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    k = k.strip().lower()
                    headers[k] = headers[k] + "; " + v.strip() if k in headers else v.strip()
                if target == "/sub" and headers.get("upgrade", "").lower() == "websocket":
                    await self.chat(reader, writer, headers)
                    break
                n = int(headers.get("content-length") or 0)
                body = await reader.readexactly(n) if n else b""
                keep = await self.dispatch(method, target, headers, body, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def send(self, writer, status, body, ctype="application/json; charset=utf-8", extra=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        head = [f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}", f"Content-Type: {ctype}",
                f"Content-Length: {len(body)}", *extra, "", ""]
        writer.write("\r\n".join(head).encode("latin-1") + body)
        await writer.drain()
        return True

    async def dispatch(self, method, target, headers, body, writer):
        url = urllib.parse.urlsplit(target)
        path, q = url.path, urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        if path.startswith("/_bench/"):
            return await self.bench(path, dict(q), writer)
        if path.startswith("/live-bvc/") or path.startswith("/third/"):
            return await self.media(path, writer)
        if path.startswith("/dead/"):
            return await self.send(writer, 404, b"", "text/plain")
        me = "http://" + headers.get("host", f"127.0.0.1:{self.port}")
        if self.a.platform == "bilibili":
            return await self.bili(method, path, q, body, me, writer)
        return await self.douyin(method, path, q, headers, body, me, writer)

    async def bench(self, path, q, writer):
        if path == "/_bench/start":
            self.t0 = float(q.get("t0", time.monotonic()))
            return await self.send(writer, 200, {"ok": True})
        if path == "/_bench/schedule":
            return await self.send(writer, 200, self.schedule_json())
        if path == "/_bench/stats":
            return await self.send(writer, 200, self.stats())
        return await self.send(writer, 404, b"", "text/plain")

    def url_of(self, r):
        if self.a.platform == "bilibili":
            return f"https://live.bilibili.com/{r.room_id}"
        return f"https://live.douyin.com/{r.web_rid}"

    def schedule_json(self):
        return {"platform": self.a.platform,
                "rooms": [self.url_of(r) for r in self.rooms],
                "lives": [{"url": self.url_of(r), "start": r.start, "end": r.end}
                          for r in self.rooms if r.start is not None]}

    def stats(self):
        checks = [r.checks for r in self.rooms]
        firsts = [r.first_check for r in self.rooms]
        return {
            "t": round(self.now(), 2),
            "requests": self.counts,
            "unknown_paths": self.unknown,
            "api_total": sum(self.counts.values()),
            "per_10s": [self.buckets.get(i, 0) for i in range(int(self.now() // 10) + 1)],
            "media_bytes": self.media_bytes,
            "chat": {"open": sum(len(w) for w in self.chats.values()), "auths": self.chat_auths,
                     "live_pushed": len(self.live_pushed)},
            "lives": [{"url": self.url_of(r), "start": r.start, "end": r.end, "first_media": r.first_media,
                       "media_requests": r.media_requests, "checks": r.checks, "first_check": r.first_check,
                       "inits": r.inits}
                      for r in self.rooms if r.start is not None],
            "checks": {"never": sum(1 for c in checks if c == 0),
                       "min": min(checks), "median": statistics.median(checks), "max": max(checks),
                       "gap_median": round(statistics.median(self.gaps), 1) if self.gaps else None,
                       "gap_max": round(max(self.gaps), 1) if self.gaps else None,
                       "gaps": len(self.gaps),
                       "all_checked_at": None if None in firsts else max(firsts),
                       "never_resolved": sum(1 for r in self.rooms if r.inits == 0 and r.checks == 0)},
        }

    # ---- media ----

    async def media(self, path, writer):
        r = None
        name = path.rsplit("/", 1)[-1]
        try:
            if name.startswith("live_"):  # Bilibili: live_<uid>_<n>.flv
                r = self.by_uid.get(int(name.split("_")[1]))
            elif name.startswith("stream-"):  # Douyin: stream-<id>_<quality>.flv
                i = int(name[7:].split("_")[0]) - STREAM0 - 1
                r = self.rooms[i] if 0 <= i < len(self.rooms) else None
        except (ValueError, IndexError):
            r = None
        self.counts["media"] = self.counts.get("media", 0) + 1
        if r is None or not self.live(r) or not name.endswith(".flv"):
            return await self.send(writer, 404, b"", "text/plain")
        r.media_requests += 1
        if r.first_media is None:
            r.first_media = round(self.now(), 2)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n")
        rate = self.a.rate
        chunk = max(4096, rate // 10)
        blocks, buf = self.flv.blocks(), bytearray()
        start, sent = time.monotonic(), 0
        self.streams_open += 1
        try:
            while self.live(r):
                while len(buf) < chunk:
                    buf += next(blocks)
                out = bytes(buf[:chunk])
                del buf[:chunk]
                writer.write(b"%x\r\n" % len(out) + out + b"\r\n")
                await writer.drain()
                sent += len(out)
                self.media_bytes += len(out)
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        finally:
            self.streams_open -= 1
        return False

    # ---- Bilibili chat ----

    async def chat(self, reader, writer, headers):
        key = headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        await writer.drain()
        if self.pusher is None:
            self.pusher = asyncio.ensure_future(self.push_lives())
        room = None
        try:
            while True:
                op, data = await ws_read(reader)
                if op == 8:
                    return
                if op != 2 or len(data) < 16:
                    continue
                kind = struct.unpack(">I", data[8:12])[0]
                if kind == 7:
                    try:
                        room = int(json.loads(data[16:]).get("roomid"))
                    except (ValueError, TypeError, AttributeError):
                        room = None
                    self.chat_auths += 1
                    self.chats.setdefault(room, set()).add(writer)
                    await ws_send(writer, bili_packet(1, 8, b'{"code":0}'))
                elif kind == 2:
                    # The real server's quirk: a length that counts only the popularity.
                    await ws_send(writer, bili_packet(1, 3, struct.pack(">I", 1)) + data[16:])
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.chats.get(room, set()).discard(writer)

    async def push_lives(self):
        # A room that goes live gets `LIVE` on its chat connections, as Bilibili pushes it.
        while True:
            await asyncio.sleep(0.5)
            for r in self.rooms:
                if r.start is None or r.room_id in self.live_pushed or not self.live(r):
                    continue
                self.live_pushed.add(r.room_id)
                body = json.dumps({"cmd": "LIVE", "roomid": r.room_id, "live_time": self.live_since_unix(r)})
                for w in list(self.chats.get(r.room_id, ())):
                    try:
                        await ws_send(w, bili_packet(0, 5, body.encode()))
                    except ConnectionError:
                        pass

    def danmu_info(self, me):
        v = json.loads(json.dumps(self.tpl["getDanmuInfo"]))
        port = int(me.rsplit(":", 1)[1])
        v["data"]["token"] = "bench-" + uuid.uuid4().hex
        v["data"]["host_list"] = [{"host": "127.0.0.1", "port": port, "wss_port": port, "ws_port": port}]
        return v

    # ---- Bilibili ----

    async def bili(self, method, path, q, body, me, writer):
        qd = dict(q)
        if path == "/x/web-interface/nav":
            self.count("nav")
            return await self.send(writer, 200, self.tpl["nav-anonymous"])
        if path == "/room/v1/Room/room_init":
            self.count("room_init")
            r = self.bili_room(qd.get("id"))
            if r is None:
                return await self.send(writer, 200, self.tpl["room_init-not-found"])
            r.inits += 1
            v = json.loads(json.dumps(self.tpl["room_init-live"]))
            live = self.live(r)
            v["data"].update(room_id=r.room_id, short_id=0, uid=r.uid, live_status=1 if live else 0,
                             live_time=self.live_since_unix(r) if live else 0)
            return await self.send(writer, 200, v)
        if path == "/xlive/web-room/v1/index/getInfoByRoom":
            self.count("getInfoByRoom")
            r = self.bili_room(qd.get("room_id"))
            if r is None:
                return await self.send(writer, 200, {"code": 19002000, "message": "获取房间基础信息失败", "ttl": 1, "data": None})
            self.checked(r)
            v = json.loads(json.dumps(self.tpl["getInfoByRoom-live"]))
            live = self.live(r)
            ri = v["data"]["room_info"]
            ri.update(uid=r.uid, room_id=r.room_id, short_id=0, title=f"测试直播 {r.idx}",
                      live_status=1 if live else 0, live_start_time=self.live_since_unix(r) if live else 0,
                      up_session=self.session(r) if live else "0", live_id=int(self.session(r)) if live else 0,
                      live_id_str=self.session(r) if live else "0")
            v["data"]["anchor_info"]["base_info"]["uname"] = f"测试主播{r.idx}"
            return await self.send(writer, 200, v)
        if path == "/xlive/web-room/v2/index/getRoomPlayInfo":
            self.count("getRoomPlayInfo")
            r = self.bili_room(qd.get("room_id"))
            if r is None:
                return await self.send(writer, 200, {"code": 19002000, "message": "", "ttl": 1, "data": None})
            return await self.send(writer, 200, self.bili_play(r, me))
        if path == "/room/v1/Room/get_status_info_by_uids":
            uids = [v for k, v in q if k in ("uids[]", "uids")]
            if method == "POST":
                self.count("get_status_info_by_uids (POST)")
                uids += self.post_uids(body)
            else:
                self.count("get_status_info_by_uids (GET)")
            return await self.send(writer, 200, self.bili_batch(uids))
        if path == "/xlive/web-room/v1/index/getRoomBaseInfo":
            self.count("getRoomBaseInfo")
            return await self.send(writer, 200, self.bili_base_info(q))
        if path == "/room/v1/Room/get_info":
            self.count("get_info")
            r = self.bili_room(qd.get("room_id") or qd.get("id"))
            if r is None:
                return await self.send(writer, 200, {"code": 1, "msg": "未找到该房间", "message": "未找到该房间", "data": []})
            self.checked(r)
            live = self.live(r)
            return await self.send(writer, 200, {"code": 0, "msg": "ok", "message": "ok", "data": {
                "uid": r.uid, "room_id": r.room_id, "short_id": 0, "live_status": 1 if live else 0,
                "live_time": self.bili_time(r) if live else "0000-00-00 00:00:00",
                "title": f"测试直播 {r.idx}", "area_name": "聊天", "parent_area_name": "娱乐",
                "is_sp": 0, "special_type": 0}})
        if path == "/xlive/web-room/v1/index/getDanmuInfo":
            self.count("getDanmuInfo")
            return await self.send(writer, 200, self.danmu_info(me))
        if path == "/room/v1/Room/playUrl":
            self.count("playUrl")
            r = self.bili_room(qd.get("cid"))
            if r is None:
                return await self.send(writer, 200, {"code": 19002000, "message": "", "data": None})
            v = json.loads(json.dumps(self.tpl["playUrl-v1"]))
            v["data"]["durl"] = ([{"url": me + self.bili_flv_path(r) + self.bili_extra(), "length": 0,
                                   "order": 1, "stream_type": 0, "p2p_type": 0}] if self.live(r) else [])
            return await self.send(writer, 200, v)
        self.unknown[path] = self.unknown.get(path, 0) + 1
        return await self.send(writer, 404, b"", "text/plain")

    def bili_room(self, ident):
        try:
            return self.by_room_id.get(int(ident))
        except (TypeError, ValueError):
            return None

    def post_uids(self, body):
        try:
            v = json.loads(body or b"{}")
            return [str(u) for u in v.get("uids", [])]
        except (ValueError, AttributeError):
            return [v for k, v in urllib.parse.parse_qsl(body.decode("latin-1")) if k in ("uids[]", "uids")]

    def bili_time(self, r):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.live_since_unix(r)))

    def bili_flv_path(self, r):
        return f"/live-bvc/{r.idx % 1000000:06d}/live_{r.uid}_{r.idx:07d}.flv?"

    def bili_extra(self):
        return (f"expires={int(time.time()) + 3600}&len=0&oi=0&pt=web&qn=10000&trid={uuid.uuid4().hex}"
                f"&sigparams=cdn,expires,len,oi,pt,qn,trid&cdn=cn-gotcha01&sign={uuid.uuid4().hex}"
                "&p2p_type=1&src=5&sl=1&order=1")

    def bili_play(self, r, me):
        if not self.live(r):
            v = json.loads(json.dumps(self.tpl["getRoomPlayInfo-offline"]))
            v["data"].update(room_id=r.room_id, short_id=0, uid=r.uid)
            return v
        v = json.loads(json.dumps(self.tpl["getRoomPlayInfo-live"]))
        v["data"].update(room_id=r.room_id, short_id=0, uid=r.uid, live_time=self.live_since_unix(r))
        pu = v["data"]["playurl_info"]["playurl"]
        pu["cid"] = r.room_id
        # The fixture's AVC FLV entry, on this server only (the host list is not what is measured).
        avc = next(c for s in pu["stream"] if s["protocol_name"] == "http_stream"
                   for f in s["format"] if f["format_name"] == "flv"
                   for c in f["codec"] if c["codec_name"] == "avc")
        avc["base_url"] = self.bili_flv_path(r)
        avc["url_info"] = [{"host": me, "extra": self.bili_extra(), "stream_ttl": 3600}]
        pu["stream"] = [{"protocol_name": "http_stream", "format": [{"format_name": "flv", "codec": [avc]}]}]
        return v

    def bili_batch_entry(self, r):
        live = self.live(r)
        return {"title": f"测试直播 {r.idx}", "room_id": r.room_id, "uid": r.uid, "online": 0,
                "live_time": self.live_since_unix(r) if live else 0, "live_status": 1 if live else 0,
                "short_id": 0, "area": 6, "area_name": "生活娱乐", "area_v2_id": 123, "area_v2_name": "户外",
                "area_v2_parent_name": "娱乐", "area_v2_parent_id": 1, "uname": f"测试主播{r.idx}",
                "face": "https://i0.example/face.jpg", "tag_name": "日常", "tags": "",
                "cover_from_user": "https://i0.example/cover.jpg", "keyframe": "https://i0.example/keyframe.jpg",
                "lock_till": "0000-00-00 00:00:00", "hidden_till": "0000-00-00 00:00:00", "broadcast_type": 0}

    def bili_batch(self, uids):
        data = {}
        for u in uids:
            for part in str(u).split(","):
                try:
                    r = self.by_uid.get(int(part))
                except ValueError:
                    r = None
                if r is not None and str(r.uid) not in data:
                    self.checked(r)
                    data[str(r.uid)] = self.bili_batch_entry(r)
        # The real service answers an empty list, not an empty map, when no uid is known.
        return {"code": 0, "msg": "success", "message": "success", "data": data or []}

    def bili_base_entry(self, r):
        live = self.live(r)
        return {"room_id": r.room_id, "uid": r.uid, "area_id": 123, "live_status": 1 if live else 0,
                "live_url": f"https://live.bilibili.com/{r.room_id}", "parent_area_id": 1,
                "title": f"测试直播 {r.idx}", "parent_area_name": "娱乐", "area_name": "户外",
                "live_time": self.bili_time(r) if live else "0000-00-00 00:00:00", "description": "",
                "tags": "", "attention": 0, "online": 0, "short_id": 0, "uname": f"测试主播{r.idx}",
                "cover": "https://i0.example/cover.jpg", "background": "", "join_slide": 1,
                "live_id": int(self.session(r)) if live else 0, "live_id_str": self.session(r) if live else "0",
                "lock_status": 0, "hidden_status": 0, "is_encrypted": False}

    def bili_base_info(self, q):
        by_rooms, by_uids = {}, {}
        for k, v in q:
            for part in v.split(","):
                try:
                    n = int(part)
                except ValueError:
                    continue
                if k in ("room_ids", "room_ids[]") and n in self.by_room_id:
                    # A resolution (room id -> uid) that also tells the live status.
                    r = self.by_room_id[n]
                    r.inits += 1
                    self.checked(r)
                    by_rooms[str(n)] = self.bili_base_entry(r)
                elif k in ("uids", "uids[]") and n in self.by_uid:
                    r = self.by_uid[n]
                    self.checked(r)
                    by_uids[str(n)] = self.bili_base_entry(r)
        return {"code": 0, "message": "0", "ttl": 1, "data": {"by_uids": by_uids, "by_room_ids": by_rooms}}

    # ---- Douyin ----

    async def douyin(self, method, path, q, headers, body, me, writer):
        qd = dict(q)
        if path == "/":
            self.count("home (ttwid)")
            return await self.send(writer, 200, "<html><body>home</body></html>", "text/html; charset=utf-8",
                                   [f"Set-Cookie: ttwid={self.ttwid}; Path=/; Max-Age=31536000; HttpOnly"])
        if path == "/ttwid.bytedance.com/ttwid/union/register/":
            self.count("ttwid register")
            if method != "POST":
                return await self.send(writer, 405, b"", "text/plain")
            return await self.send(writer, 200, {"status_code": 0}, extra=[f"Set-Cookie: ttwid={self.ttwid};{self.ttwid_attrs}"])
        if path == "/webcast/room/web/enter/":
            cookies = dict(p.strip().split("=", 1) for p in headers.get("cookie", "").split(";") if "=" in p)
            if cookies.get("ttwid") != self.ttwid or not qd.get("a_bogus"):
                # What the real service answers without a ttwid or a signature: 200, no body.
                self.count("web/enter (refused: empty body)")
                return await self.send(writer, 200, b"")
            self.count("web/enter")
            r = self.by_web_rid.get(qd.get("web_rid", ""))
            if r is None:
                return await self.send(writer, 200, {"data": {"data": []}, "extra": {}, "status_code": 0})
            self.checked(r)
            return await self.send(writer, 200, self.douyin_enter(r, me))
        self.unknown[path] = self.unknown.get(path, 0) + 1
        return await self.send(writer, 404, b"", "text/plain")

    def douyin_enter(self, r, me):
        if not self.live(r):
            v = json.loads(json.dumps(self.tpl["web_enter-offline"]))
            d = v["data"]["data"][0]
            d.update(id_str=self.session(r), title=f"测试直播 {r.idx}")
            v["data"]["user"]["nickname"] = f"测试主播{r.idx}"
            return v
        v = json.loads(json.dumps(self.tpl["web_enter-live"]))
        d = v["data"]["data"][0]
        d.update(id_str=self.session(r), title=f"测试直播 {r.idx}")
        d["owner"].update(web_rid=r.web_rid, nickname=f"测试主播{r.idx}")
        v["data"]["user"]["nickname"] = f"测试主播{r.idx}"
        v["data"]["enter_room_id"] = self.session(r)
        stream = STREAM0 + r.idx
        su = d["stream_url"]
        sdk = su.get("live_core_sdk_data", {}).get("pull_data", {})
        if isinstance(sdk.get("stream_data"), str):
            sd = json.loads(sdk["stream_data"])
            self.douyin_urls(sd, me, stream)
            sdk["stream_data"] = json.dumps(sd, ensure_ascii=False, separators=(",", ":"))
        self.douyin_urls(su, me, stream)
        return v

    def douyin_urls(self, v, me, stream):
        """Every FLV URL of the answer leads to this room's stream here (any quality is the same
        bytes), every HLS one to a 404."""
        def fix(s):
            u = urllib.parse.urlsplit(s)
            name = u.path.rsplit("/", 1)[-1]
            if name.endswith(".flv"):
                suffix = name.rsplit("_", 1)[-1] if "_" in name else "or4.flv"
                return f"{me}/third/stream-{stream}_{suffix}?expire=6940a000&sign={uuid.uuid4().hex}"
            return f"{me}/dead/{name}"
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(x, str) and x.startswith("http") and (".flv" in x or ".m3u8" in x):
                    v[k] = fix(x)
                else:
                    self.douyin_urls(x, me, stream)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                if isinstance(x, str) and x.startswith("http") and (".flv" in x or ".m3u8" in x):
                    v[i] = fix(x)
                else:
                    self.douyin_urls(x, me, stream)


def bili_packet(ver, op, body):
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


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--platform", choices=["bilibili", "douyin"], default="bilibili")
    p.add_argument("--rooms", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--live-at-start", type=int, default=5)
    p.add_argument("--go-live", type=int, default=5)
    p.add_argument("--go-live-from", type=float, default=30)
    p.add_argument("--go-live-within", type=float, default=180)
    p.add_argument("--live-end", type=float, default=410, help="every live ends then (s after t0)")
    p.add_argument("--live-for", type=float, default=0, help="and lasts at most this long (0: no limit)")
    p.add_argument("--rate", type=int, default=300_000, help="bytes/s of each stream")
    p.add_argument("--flv", default=MEDIA)
    a = p.parse_args()
    fake = Fake(a)
    server = await asyncio.start_server(fake.conn, "127.0.0.1", a.port, backlog=1024, limit=1 << 20)
    fake.port = server.sockets[0].getsockname()[1]
    print(f"PORT {fake.port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
