#!/usr/bin/env python3
"""A loopback HTTP server for benchmarks: GET /<file>?rate=BYTES_PER_S&once=1 streams a file,
paced (rate=0: as fast as possible). With once=1, a path answers 404 after one complete send
(the live ended). Usage: serve.py PORT DIR"""
import http.server
import os
import sys
import threading
import time
import urllib.parse

ROOT = sys.argv[2]
done = set()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        rate = int(q.get("rate", ["0"])[0])
        name = os.path.basename(url.path)
        path = os.path.join(ROOT, name)
        with lock:
            gone = self.path in done
        if gone or not os.path.exists(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "video/x-flv")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = 256 << 10 if rate == 0 else max(4096, rate // 10)
        start, sent = time.monotonic(), 0
        try:
            with open(path, "rb") as f:
                while True:
                    buf = f.read(chunk)
                    if not buf:
                        break
                    self.wfile.write(buf)
                    sent += len(buf)
                    if rate:
                        ahead = sent / rate - (time.monotonic() - start)
                        if ahead > 0:
                            time.sleep(ahead)
        except (BrokenPipeError, ConnectionResetError):
            return
        if q.get("once") == ["1"]:
            with lock:
                done.add(self.path)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
