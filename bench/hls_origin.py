#!/usr/bin/env python3
"""A live HLS origin for the benchmark: publishes pre-cut segments in a sliding window.

Serves DIR/seg_NNNNN.<ext> (and DIR/init.mp4 for fMP4) as a live playlist at
http://127.0.0.1:PORT/live.m3u8: `--rate` new segments per second (faster than real time, so a
GiB goes by in a minute), the last `--window` segments listed, EXT-X-ENDLIST once all are out.
The clock starts at the first playlist request. Prints the port on stdout, then serves until
killed. Standard library only.
"""
import argparse
import http.server
import os
import re
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--window", type=int, default=600)
    ap.add_argument("--target", type=int, default=2)
    args = ap.parse_args()
    names = sorted(n for n in os.listdir(args.dir) if re.match(r"seg_\d+\.(ts|m4s)$", n))
    if not names:
        sys.exit(f"no seg_NNNNN.ts/.m4s in {args.dir}")
    fmp4 = names[0].endswith(".m4s")
    durations = {}
    playlist = os.path.join(args.dir, "src.m3u8")
    if os.path.exists(playlist):
        last = None
        for line in open(playlist):
            line = line.strip()
            if line.startswith("#EXTINF:"):
                last = line[8:].split(",")[0]
            elif line and not line.startswith("#"):
                durations[os.path.basename(line)] = last
    state = {"start": None, "lock": threading.Lock()}

    def published():
        with state["lock"]:
            if state["start"] is None:
                state["start"] = time.monotonic()
            t = time.monotonic() - state["start"]
        return min(len(names), 1 + int(t * args.rate))

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, code, ctype, body):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?")[0].lstrip("/")
            if path == "live.m3u8":
                hi = published()
                lo = max(0, hi - args.window)
                out = [
                    "#EXTM3U",
                    "#EXT-X-VERSION:7" if fmp4 else "#EXT-X-VERSION:3",
                    f"#EXT-X-TARGETDURATION:{args.target}",
                    f"#EXT-X-MEDIA-SEQUENCE:{lo}",
                ]
                if fmp4:
                    out.append('#EXT-X-MAP:URI="init.mp4"')
                for n in names[lo:hi]:
                    out.append(f"#EXTINF:{durations.get(n) or args.target},")
                    out.append(n)
                if hi == len(names):
                    out.append("#EXT-X-ENDLIST")
                self.send(200, "application/vnd.apple.mpegurl", ("\n".join(out) + "\n").encode())
                return
            if path == "init.mp4" or path in names:
                with open(os.path.join(args.dir, path), "rb") as f:
                    self.send(200, "video/mp2t", f.read())
                return
            self.send(404, "text/plain", b"not found\n")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
