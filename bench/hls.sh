#!/usr/bin/env bash
# HLS benchmark: CPU seconds per GiB written and peak RSS of liverec against
# `ffmpeg -i URL -c copy`, both recording the same live-style HLS stream from a loopback origin
# (bench/hls_origin.py), one after the other, for TS and for fMP4.
#
#   bench/hls.sh            # ~1 GiB per run (LOOPS=400 x 20 s of the fixture)
#   LOOPS=40 bench/hls.sh   # a quick ~100 MiB run
#   BASE_BIN=/path/to/older/liverec bench/hls.sh   # also measure another build, same run
#
# The source is the 20 s fixture FLV looped and stream-copied into 2 s segments (continuous
# timestamps). The first SKIP segments are not served: the recorders join a running broadcast,
# so liverec rebases every segment it writes. The origin publishes RATE segments per second
# (far faster than real time: this measures cost per byte, not real-time behaviour) in a
# WINDOW-entry sliding window, then EXT-X-ENDLIST. Needs: cargo, ffmpeg, python3, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
LOOPS=${LOOPS:-400}
RATE=${RATE:-100}
WINDOW=${WINDOW:-600}
KINDS=${KINDS:-"ts fmp4"}
SKIP=${SKIP:-10}
WORK=$(mktemp -d /tmp/liverec-hls-bench.XXXXXX)
ORIGIN=""
cleanup() {
    if [ -n "$ORIGIN" ]; then kill "$ORIGIN" 2>/dev/null || true; fi
    if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

cargo build --release --quiet
BIN=$PWD/target/release/liverec
FIXTURE=tests/fixtures/media/flv_640x360_20s.flv

make_source() { # kind dir
    mkdir -p "$2"
    if [ "$1" = ts ]; then
        ffmpeg -nostdin -v error -stream_loop "$LOOPS" -i "$FIXTURE" -c copy -f hls -hls_time 2 \
            -hls_list_size 0 -hls_segment_filename "$2/seg_%05d.ts" "$2/src.m3u8"
    else
        ffmpeg -nostdin -v error -stream_loop "$LOOPS" -i "$FIXTURE" -c copy -f hls -hls_time 2 \
            -hls_list_size 0 -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 \
            -hls_segment_filename "$2/seg_%05d.m4s" "$2/src.m3u8"
    fi
    find "$2" -name 'seg_*' | sort | awk -v n="$SKIP" 'NR <= n' | xargs -r rm --
}

start_origin() { # dir
    python3 bench/hls_origin.py "$1" --rate "$RATE" --window "$WINDOW" > "$WORK/port" &
    ORIGIN=$!
    for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
    PORT=$(cat "$WORK/port")
}

stop_origin() {
    kill "$ORIGIN" 2>/dev/null || true
    wait "$ORIGIN" 2>/dev/null || true
    ORIGIN=""
    : > "$WORK/port"
}

field() { # file label
    grep -F "$2" "$1" | head -1 | awk -F': ' '{print $2}'
}

report() { # name timefile bytes
    local user sys rss wall
    user=$(field "$2" "User time (seconds)")
    sys=$(field "$2" "System time (seconds)")
    rss=$(field "$2" "Maximum resident set size (kbytes)")
    wall=$(field "$2" "Elapsed (wall clock) time")
    awk -v n="$1" -v u="$user" -v s="$sys" -v r="$rss" -v b="$3" -v w="$wall" 'BEGIN {
        g = b / 1073741824
        printf "| %s | %.3f | %.2f | %.2f | %.2f | %.1f | %s |\n", n, g, u, s, (u + s) / g, r / 1024, w
    }'
}

bytes_of() { # dir pattern
    find "$1" -name "$2" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'
}

# liverec: the daemon with one direct room; stopped with SIGTERM once the session ended.
run_liverec() { # label bin kind src ext tag
    start_origin "$4"
    local out="$WORK/liverec$6-$3"
    mkdir -p "$out"
    cat > "$out/cfg.toml" <<TOML
output_dir = "$out/rec"
state_dir = "$out/state"
poll_interval = "1s"
offline_grace = "2s"
min_free_space = "0B"
segment_duration = "0s"
segment_size = "0B"
filename = "{name}/{index}"
[control]
listen = "127.0.0.1:0"
[[rooms]]
name = "bench"
url = "http://127.0.0.1:$PORT/live.m3u8"
TOML
    /usr/bin/time -v -o "$out/time" "$2" run -c "$out/cfg.toml" 2> "$out/log" &
    local timepid=$!
    for _ in $(seq 1200); do
        grep -q "offline: session ended" "$out/log" && break
        sleep 0.5
    done
    local daemon
    daemon=$(pgrep -P "$timepid" || true)
    [ -n "$daemon" ] && kill -TERM "$daemon"
    wait "$timepid" || true
    stop_origin
    grep -q "offline: session ended" "$out/log" || { tail -20 "$out/log" >&2; exit 1; }
    if grep -q "gap:" "$out/log"; then grep "gap:" "$out/log" >&2; fi
    if grep -q "cannot rebase" "$out/log"; then grep "cannot rebase" "$out/log" >&2; fi
    report "$1" "$out/time" "$(bytes_of "$out/rec" "*.$5")"
}

echo "| run | GiB written | user s | sys s | CPU s per GiB | peak RSS MiB | wall |"
echo "|---|---|---|---|---|---|---|"
for kind in $KINDS; do
    src="$WORK/src-$kind"
    make_source "$kind" "$src"
    ext=ts
    [ "$kind" = fmp4 ] && ext=mp4
    awk -v k="$kind" -v b="$(bytes_of "$src" "seg_*")" \
        'BEGIN { printf "| (served: %s segments) | %.3f | | | | | |\n", k, b / 1073741824 }'

    if [ -n "${BASE_BIN:-}" ]; then
        run_liverec "liverec (base) $kind" "$BASE_BIN" "$kind" "$src" "$ext" base
    fi
    run_liverec "liverec $kind" "$BIN" "$kind" "$src" "$ext" ""

    # ffmpeg: reads the same live playlist, stream copy; it exits at EXT-X-ENDLIST.
    start_origin "$src"
    out="$WORK/ffmpeg-$kind"
    mkdir -p "$out"
    fmt=mpegts
    [ "$kind" = fmp4 ] && fmt=mp4
    /usr/bin/time -v -o "$out/time" ffmpeg -nostdin -v error -y \
        -i "http://127.0.0.1:$PORT/live.m3u8" -c copy -f "$fmt" "$out/out.$ext" 2> "$out/log" || true
    stop_origin
    report "ffmpeg -c copy $kind" "$out/time" "$(bytes_of "$out" "out.$ext")"
    rm -rf "$src"
done
