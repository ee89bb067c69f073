#!/usr/bin/env bash
# The scale benchmark: one liverec daemon against a fake platform with many rooms.
#
#   bench/scale.sh [run]      ROOMS (1000) rooms for DURATION (480 s): LIVE_AT_START (5) rooms live
#                             from the start, GO_LIVE (5) more going live at random times between
#                             GO_LIVE_FROM (30) and GO_LIVE_WITHIN (180) s; every live ends IDLE+10 s
#                             before the end, so the last IDLE (60) s measure the idle daemon.
#                             Peak RSS, CPU s per minute, idle CPU, API requests per second (by
#                             endpoint), status checks per room, live -> first byte per live room.
#   bench/scale.sh startup    ROOMS (10000 here) rooms, none live: `liverec check` time, daemon
#                             start (control API answering), `liverec status` time, RSS after a minute.
#                             (STARTUP_WAIT, 60 s, is the minute.)
#   bench/scale.sh all        both (STARTUP_ROOMS, 10000, for the second).
#
# Binaries: LIVEREC (default target/release/liverec, built here with `cargo build --release`), or
# LIVEREC_A and LIVEREC_B (labels LABEL_A, LABEL_B): run one after the other, each against a fresh
# fake with the same SEED, and reported side by side in one table. PARALLEL=1 runs the two `run`
# configurations at the same time instead (each against its own fake, same SEED, same clock), so
# both meet the same load on the machine; `startup` always runs one after the other.
# Other knobs: PLATFORM (bilibili | douyin), POLL (30s), RATE (300000 bytes/s per stream), SEED (1),
# LIVE_FOR (0: until the common end), MIN_FREE (1GiB), PLATFORM_EXTRA ("key = value; ..." lines
# for the [platforms.X] table, e.g. "requests_per_second = 4.0"), LOG (the daemon's RUST_LOG,
# info), OUT (bench/scale-results.md), KEEP=1 keeps the work directories (in /tmp).
# Needs python3 (stdlib only). Disk: about RATE x live seconds per live room (~1.2 GB at the
# defaults), deleted after each run.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-run}
case "$MODE" in run | startup | all) ;; *) echo "usage: bench/scale.sh [run|startup|all]" >&2; exit 2 ;; esac
PLATFORM=${PLATFORM:-bilibili}
DURATION=${DURATION:-480}
IDLE=${IDLE:-60}
POLL=${POLL:-30s}
SEED=${SEED:-1}
RATE=${RATE:-300000}
OUT=${OUT:-bench/scale-results.md}
if [ "$MODE" = startup ]; then ROOMS=${ROOMS:-10000}; else ROOMS=${ROOMS:-1000}; fi
STARTUP_ROOMS=${STARTUP_ROOMS:-10000}
command -v python3 >/dev/null || { echo "missing: python3" >&2; exit 1; }

BINS=() LABELS=()
if [ -n "${LIVEREC_A:-}" ] || [ -n "${LIVEREC_B:-}" ]; then
  [ -n "${LIVEREC_A:-}" ] && [ -n "${LIVEREC_B:-}" ] || { echo "set both LIVEREC_A and LIVEREC_B" >&2; exit 2; }
  BINS=("$LIVEREC_A" "$LIVEREC_B")
  LABELS=("${LABEL_A:-A}" "${LABEL_B:-B}")
else
  if [ -z "${LIVEREC:-}" ]; then
    cargo build --release -q
    LIVEREC=$PWD/target/release/liverec
  fi
  BINS=("$LIVEREC")
  LABELS=("${LABEL:-liverec}")
fi
for b in "${BINS[@]}"; do [ -x "$b" ] || { echo "not an executable: $b" >&2; exit 1; }; done

WORK=$(mktemp -d /tmp/liverec-scale-results.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
ARGS=(--platform "$PLATFORM" --seed "$SEED" --poll "$POLL" --rate "$RATE"
      --min-free "${MIN_FREE:-1GiB}" --log "${LOG:-info}" --platform-extra "${PLATFORM_EXTRA:-}")
[ "${KEEP:-0}" = 1 ] && ARGS+=(--keep)
RESULTS=()
echo "== load before: $(uptime)"
PIDS=()
for i in "${!BINS[@]}"; do
  if [ "$MODE" != startup ]; then
    echo "== ${LABELS[$i]}: $ROOMS $PLATFORM rooms for ${DURATION}s (${BINS[$i]})"
    RUN=(python3 bench/scale_run.py run --bin "${BINS[$i]}" --label "${LABELS[$i]}" --out "$WORK/run-$i.json"
      "${ARGS[@]}" --rooms "$ROOMS" --duration "$DURATION" --idle "$IDLE"
      --live-at-start "${LIVE_AT_START:-5}" --go-live "${GO_LIVE:-5}" --go-live-from "${GO_LIVE_FROM:-30}"
      --go-live-within "${GO_LIVE_WITHIN:-180}" --live-for "${LIVE_FOR:-0}")
    if [ "${PARALLEL:-0}" = 1 ]; then
      "${RUN[@]}" &
      PIDS+=($!)
    else
      "${RUN[@]}"
    fi
    RESULTS+=("$WORK/run-$i.json")
  fi
done
for p in "${PIDS[@]}"; do wait "$p"; done
for i in "${!BINS[@]}"; do
  if [ "$MODE" != run ]; then
    n=$ROOMS
    [ "$MODE" = all ] && n=$STARTUP_ROOMS
    echo "== ${LABELS[$i]}: start-up with $n $PLATFORM rooms (${BINS[$i]})"
    python3 bench/scale_run.py startup --bin "${BINS[$i]}" --label "${LABELS[$i]}" --out "$WORK/startup-$i.json" \
      "${ARGS[@]}" --rooms "$n" --minute "${STARTUP_WAIT:-60}"
    RESULTS+=("$WORK/startup-$i.json")
  fi
done
echo "== load after: $(uptime)"
python3 bench/scale_run.py report "${RESULTS[@]}" --out "$OUT"
echo "(written to $OUT; the daemon's last log lines are in $WORK/*.json.log$([ "${KEEP:-0}" = 1 ] || echo ', deleted now'))"
