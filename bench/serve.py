#!/usr/bin/env python3
"""A loopback HTTP server for benchmarks: GET /<file>?rate=BYTES_PER_S&once=1 streams a file,
paced (rate=0: as fast as possible). With once=1, a path answers 404 after one complete send
(the live ended). Bodies use chunked transfer encoding, as live HTTP-FLV servers do (nginx-flv,
SRS, CDNs): a live stream has no length; `framing=eof` sends the raw body instead, ended by
closing the connection (the HTTP/1.0 way). Unpaced bodies go out with sendfile, so the server
is not what the clients wait for. Usage: serve.py PORT DIR"""
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
        chunked = q.get("framing") != ["eof"]
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = 256 << 10 if rate == 0 else max(4096, rate // 10)
        start, sent = time.monotonic(), 0
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if rate == 0:
                    self.wfile.flush()
                    while sent < size:
                        n = min(chunk, size - sent)
                        if chunked:
                            self.connection.sendall(b"%x\r\n" % n)
                        self.connection.sendfile(f, sent, n)
                        if chunked:
                            self.connection.sendall(b"\r\n")
                        sent += n
                while rate:
                    buf = f.read(chunk)
                    if not buf:
                        break
                    self.wfile.write(b"%x\r\n" % len(buf) + buf + b"\r\n" if chunked else buf)
                    sent += len(buf)
                    ahead = sent / rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        if q.get("once") == ["1"]:
            with lock:
                done.add(self.path)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
