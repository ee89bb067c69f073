#!/usr/bin/env bash
# Side-by-side benchmark, all in one run on one machine:
#   1. one ~1 GiB FLV pulled from a loopback HTTP server as fast as it comes, by
#      (a) curl -o file (the floor), (b) ffmpeg -c copy (what most recorders run), (c) liverec;
#      CPU-seconds per GiB (user+sys) and peak RSS of each. Done for the two ways a server can
#      frame a body with no length: chunked (live HTTP-FLV servers: nginx-flv, SRS, CDNs) and
#      ended by closing the connection. Each tool runs REPEAT times, interleaved; the best run
#      of each is reported (loopback CPU accounting is noisy on a shared 2-core machine).
#   2. ROOMS streams paced at RATE bytes/s recorded at once for MEM_SECONDS: liverec's one
#      daemon against ROOMS ffmpeg processes (peak RSS, summed for ffmpeg; CPU-seconds).
# Usage: bench/run.sh   (env: SIZE_MB=1024 REPEAT=3 ROOMS=50 RATE=500000 MEM_SECONDS=40
#                        BENCH_DIR=...; ROOMS=0 skips part 2; BASE_BIN=path/to/an/older/liverec
#                        adds that build as a fourth tool, run interleaved with the others, to
#                        compare two builds side by side)
# Needs: curl, ffmpeg, python3, GNU time (/usr/bin/time). Writes bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-1024}
REPEAT=${REPEAT:-3}
ROOMS=${ROOMS:-50}
RATE=${RATE:-500000}
MEM_SECONDS=${MEM_SECONDS:-40}
WORK=${BENCH_DIR:-$(mktemp -d /tmp/liverec-bench.XXXXXX)}
mkdir -p "$WORK"
PORT=$((20000 + RANDOM % 20000))
for tool in curl ffmpeg python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

cargo build --release -q
BIN=$PWD/target/release/liverec
echo "== making a ${SIZE_MB} MiB FLV in $WORK"
[ -f "$WORK/long.flv" ] || python3 bench/make_long_flv.py tests/fixtures/media/flv_640x360_20s.flv "$WORK/long.flv" "$SIZE_MB"
BYTES=$(stat -c %s "$WORK/long.flv")
python3 bench/serve.py "$PORT" "$WORK" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; pkill -f "$WORK/.*toml" 2>/dev/null || true' EXIT
sleep 1
URL="http://127.0.0.1:$PORT/long.flv"

# The PID of the process GNU time runs (signals must go to it, not to time). Measured
# commands run in the background as plain `/usr/bin/time ... &` (not through a shell
# function, which would add a subshell between $! and time).
child_of() { local p; for _ in $(seq 50); do p=$(pgrep -P "$1" | head -1); [ -n "$p" ] && { echo "$p"; return; }; sleep 0.1; done; }
TIME="/usr/bin/time -f %U\ %S\ %M -o"
cpu_per_gib() { awk -v b="$BYTES" '{printf "%.2f", ($1+$2) / (b / 1073741824)}' "$1"; }
rss_mib() { awk '{printf "%.1f", $3/1024}' "$1"; }
# The best (lowest CPU) of a tool's runs: prints "cpu rss".
best() { for f in "$@"; do echo "$(cpu_per_gib "$f") $(rss_mib "$f")"; done | sort -n | head -1; }
# The median CPU per GiB of a tool's runs (the lower middle one for an even count).
median() { for f in "$@"; do cpu_per_gib "$f"; echo; done | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

BASE_BIN=${BASE_BIN:-}
TOOLS="curl ffmpeg liverec"
[ -n "$BASE_BIN" ] && TOOLS="$TOOLS base"
run_liverec() { # $1 = query, $2 = timing file, $3 = binary (default: this tree's)
  local bin=${3:-$BIN}
  rm -rf "$WORK/lr"; mkdir -p "$WORK/lr"; sync
  cat > "$WORK/lr.toml" <<TOML
output_dir = "$WORK/lr/rec"
state_dir = "$WORK/lr/state"
poll_interval = "1s"
offline_grace = "1s"
segment_duration = "0s"
segment_size = "0B"
min_free_space = "0B"
filename = "{index}"
[control]
listen = "127.0.0.1:0"
[[rooms]]
url = "$URL?$1"
TOML
  RUST_LOG=info /usr/bin/time -f "%U %S %M" -o "$2" "$bin" run -c "$WORK/lr.toml" 2>"$WORK/lr.log" &
  local tpid=$!
  until grep -q "offline: session ended" "$WORK/lr.log" 2>/dev/null; do sleep 0.2; done
  kill -TERM "$(child_of $tpid)"
  wait "$tpid" || true
  LR_BYTES=$(find "$WORK/lr/rec" -name '*.flv' -printf '%s\n' | awk '{s+=$1} END {print s}')
}

declare -A RESULT MEDIAN
for framing in chunked eof; do
  echo "== one stream, $framing framing, $REPEAT runs of each tool"
  for i in $(seq "$REPEAT"); do
    q="framing=$framing&run=$i"
    # Every tool writes a new file (overwriting a 1 GiB file would charge its truncation to the
    # tool) after a sync (so no tool pays for the write-back of the one before).
    rm -f "$WORK/curl.flv" "$WORK/ffmpeg.flv"; sync
    /usr/bin/time -f "%U %S %M" -o "$WORK/t_curl_${framing}_$i" curl -s -o "$WORK/curl.flv" "$URL?$q"
    rm -f "$WORK/curl.flv"; sync
    /usr/bin/time -f "%U %S %M" -o "$WORK/t_ffmpeg_${framing}_$i" ffmpeg -nostdin -hide_banner -v quiet -y -i "$URL?$q" -c copy -f flv "$WORK/ffmpeg.flv" || true
    rm -f "$WORK/ffmpeg.flv"; sync
    run_liverec "$q&once=1" "$WORK/t_liverec_${framing}_$i"
    if [ -n "$BASE_BIN" ]; then
      run_liverec "$q&once=1&base=1" "$WORK/t_base_${framing}_$i" "$BASE_BIN"
    fi
  done
  for tool in $TOOLS; do
    RESULT[$tool,$framing]=$(best "$WORK"/t_${tool}_${framing}_*)
    MEDIAN[$tool,$framing]=$(median "$WORK"/t_${tool}_${framing}_*)
  done
done
cpu() { echo "${RESULT[$1,$2]}" | cut -d' ' -f1; }
rss() { echo "${RESULT[$1,$2]}" | cut -d' ' -f2; }
ratio() { awk -v a="$(cpu liverec "$1")" -v b="$(cpu curl "$1")" 'BEGIN {printf "%.2f", a / b}'; }
med() { echo "${MEDIAN[$1,$2]}"; }
median_ratio() { awk -v a="$(med liverec "$1")" -v b="$(med curl "$1")" 'BEGIN {printf "%.2f", a / b}'; }
base_ratio() { awk -v a="$(cpu base "$1")" -v b="$(cpu curl "$1")" 'BEGIN {printf "%.2f", a / b}'; }
base_median_ratio() { awk -v a="$(med base "$1")" -v b="$(med curl "$1")" 'BEGIN {printf "%.2f", a / b}'; }

if [ "$ROOMS" -gt 0 ]; then
  echo "== ${ROOMS} rooms at ${RATE} B/s for ${MEM_SECONDS}s: liverec"
  rm -rf "$WORK/many"; mkdir -p "$WORK/many"
  {
    echo "output_dir = \"$WORK/many/rec\""
    echo "state_dir = \"$WORK/many/state\""
    echo 'min_free_space = "0B"'
    echo 'poll_interval = "2s"'
    echo 'filename = "{id}/{index}"'
    echo '[control]'
    echo 'listen = "127.0.0.1:0"'
    for i in $(seq 1 "$ROOMS"); do printf '[[rooms]]\nurl = "%s?rate=%s&room=%s"\n' "$URL" "$RATE" "$i"; done
  } > "$WORK/many.toml"
  run_many() { # $1 = binary, $2 = timing file; prints the bytes written
    rm -rf "$WORK/many/rec" "$WORK/many/state"
    RUST_LOG=warn /usr/bin/time -f "%U %S %M" -o "$2" "$1" run -c "$WORK/many.toml" 2>"$WORK/many.log" &
    local tpid=$!
    sleep "$MEM_SECONDS"
    kill -TERM "$(child_of $tpid)"
    wait "$tpid" || true
    find "$WORK/many/rec" -name '*.flv' -printf '%s\n' | awk '{s+=$1} END {print s+0}'
  }
  MANY_BYTES=$(run_many "$BIN" "$WORK/t_many")
  if [ -n "$BASE_BIN" ]; then
    echo "== ${ROOMS} rooms at ${RATE} B/s for ${MEM_SECONDS}s: the base build"
    BASE_MANY_BYTES=$(run_many "$BASE_BIN" "$WORK/t_many_base")
  fi

  echo "== ${ROOMS} rooms: ffmpeg processes"
  rm -rf "$WORK/ff"; mkdir -p "$WORK/ff"
  TPIDS=()
  for i in $(seq 1 "$ROOMS"); do
    /usr/bin/time -f "%U %S %M" -o "$WORK/ff/t_$i" ffmpeg -nostdin -hide_banner -v error -y -i "$URL?rate=$RATE&room=ff$i" -c copy -f flv "$WORK/ff/$i.flv" 2>/dev/null &
    TPIDS+=($!)
  done
  sleep "$MEM_SECONDS"
  for t in "${TPIDS[@]}"; do kill -INT "$(child_of "$t")" 2>/dev/null || true; done
  for t in "${TPIDS[@]}"; do wait "$t" || true; done
  FF_RSS=$(cat "$WORK"/ff/t_* | awk '{s+=$3} END {printf "%.1f", s/1024}')
  FF_CPU=$(cat "$WORK"/ff/t_* | awk '{s+=$1+$2} END {printf "%.2f", s}')
  FF_BYTES=$(find "$WORK/ff" -name '*.flv' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
fi

{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -m)), one run: the same ${SIZE_MB} MiB FLV"
  echo "and server for every tool, best of $REPEAT interleaved runs each."
  echo
  echo "| one ${SIZE_MB} MiB stream, unpaced | CPU-s per GiB (chunked) | peak RSS MiB | CPU-s per GiB (ended by close) | peak RSS MiB |"
  echo "|---|---|---|---|---|"
  echo "| curl -o file (floor) | $(cpu curl chunked) | $(rss curl chunked) | $(cpu curl eof) | $(rss curl eof) |"
  echo "| ffmpeg -c copy -f flv | $(cpu ffmpeg chunked) | $(rss ffmpeg chunked) | $(cpu ffmpeg eof) | $(rss ffmpeg eof) |"
  echo "| liverec (whole daemon) | $(cpu liverec chunked) | $(rss liverec chunked) | $(cpu liverec eof) | $(rss liverec eof) |"
  echo "| liverec / curl | **$(ratio chunked)x** | | **$(ratio eof)x** | |"
  echo "| medians: curl / ffmpeg / liverec | $(med curl chunked) / $(med ffmpeg chunked) / $(med liverec chunked) | | $(med curl eof) / $(med ffmpeg eof) / $(med liverec eof) | |"
  echo "| liverec / curl, medians | $(median_ratio chunked)x | | $(median_ratio eof)x | |"
  if [ -n "$BASE_BIN" ]; then
    echo "| base build ($("$BASE_BIN" --version | head -1)) | $(cpu base chunked) | $(rss base chunked) | $(cpu base eof) | $(rss base eof) |"
    echo "| base / curl (best; medians) | $(base_ratio chunked)x; $(base_median_ratio chunked)x | | $(base_ratio eof)x; $(base_median_ratio eof)x | |"
  fi
  echo
  echo "Every run, CPU-s per GiB:"
  echo
  for framing in chunked eof; do
    for tool in $TOOLS; do
      echo "- $tool, $framing: $(for f in "$WORK"/t_${tool}_${framing}_*; do cpu_per_gib "$f"; echo; done | paste -sd' ')"
    done
  done
  echo
  echo "liverec wrote $LR_BYTES bytes for $BYTES served (it rewrites headers and metadata)."
  if [ "$ROOMS" -gt 0 ]; then
    echo
    echo "| ${ROOMS} streams at once, ${RATE} B/s each, ${MEM_SECONDS} s | peak RSS (MiB) | CPU-s | bytes written |"
    echo "|---|---|---|---|"
    echo "| liverec, one daemon | $(rss_mib "$WORK/t_many") | $(awk '{printf "%.2f", $1+$2}' "$WORK/t_many") | $MANY_BYTES |"
    echo "| ${ROOMS} ffmpeg processes (sum) | $FF_RSS | $FF_CPU | $FF_BYTES |"
    if [ -n "$BASE_BIN" ]; then
      echo "| the base build, one daemon | $(rss_mib "$WORK/t_many_base") | $(awk '{printf "%.2f", $1+$2}' "$WORK/t_many_base") | $BASE_MANY_BYTES |"
    fi
  fi
} | tee bench/results.md
echo "(details in $WORK)"
