#!/usr/bin/env python3
"""Repeats an FLV's tags (timestamps continuing) until the file reaches SIZE_MB: a long live
stream for benchmarks. Usage: make_long_flv.py FIXTURE OUT SIZE_MB"""
import struct
import sys

src, out_path, size_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, "rb").read()
tags, at = [], 13
while at + 11 <= len(data):
    kind = data[at] & 0x1F
    size = int.from_bytes(data[at + 1:at + 4], "big")
    ts = int.from_bytes(data[at + 4:at + 7], "big") | (data[at + 7] << 24)
    body = data[at + 11:at + 11 + size]
    seq = (kind == 9 and len(body) > 1 and body[1] == 0) or (kind == 8 and len(body) > 1 and body[0] >> 4 == 10 and body[1] == 0)
    tags.append((kind, ts, body, kind == 18 or seq))
    at += 11 + size + 4
span = tags[-1][1] + 40
target = size_mb << 20
with open(out_path, "wb") as out:
    out.write(data[:13])
    written, rnd = 13, 0
    while written < target:
        for kind, ts, body, header in tags:
            if rnd and header:
                continue
            t = ts + rnd * span
            rec = bytes([kind]) + len(body).to_bytes(3, "big") + (t & 0xFFFFFF).to_bytes(3, "big") + bytes([(t >> 24) & 0xFF, 0, 0, 0]) + body + struct.pack(">I", len(body) + 11)
            out.write(rec)
            written += len(rec)
        rnd += 1
