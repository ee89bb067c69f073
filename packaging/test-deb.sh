#!/usr/bin/env bash
# The package's own test, for CI (root, dpkg; systemd need not be running as PID 1): install
# the .deb, check its files, user, permissions and unit (systemd-analyze verify on the installed
# unit), `liverec check` the installed config as the service user, run the daemon as that user
# on the package's paths, reinstall over an edited config, then remove and purge, and check
# what is left each time.
#   usage: packaging/test-deb.sh target/debian/liverec_<version>_<arch>.deb
set -euo pipefail
deb=$(realpath "$1")
conf=/etc/liverec/recorder.toml
unit=/usr/lib/systemd/system/liverec.service
home=/var/lib/liverec

fail() { echo "package test FAILED: $*" >&2; exit 1; }
step() { echo "package test: $*"; }
[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg -i)"
command -v systemd-analyze >/dev/null || fail "needs systemd-analyze (apt-get install systemd)"

# Never leave the package (or its user) behind, whatever fails.
cleanup() {
  dpkg --purge liverec >/dev/null 2>&1 || true
  rm -rf "$home"
  getent passwd liverec >/dev/null && deluser --quiet --system liverec >/dev/null 2>&1 || true
  getent group liverec >/dev/null && delgroup --quiet --system liverec >/dev/null 2>&1 || true
  [ -z "${daemon:-}" ] || kill "$daemon" 2>/dev/null || true
}
if dpkg -s liverec >/dev/null 2>&1; then
  step "purging a liverec package left by an earlier run"
  cleanup
fi
trap cleanup EXIT

mode_owner() { stat -c '%a %U:%G' "$1"; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; }
expect_gone() { for p in "$@"; do [ ! -e "$p" ] && [ ! -L "$p" ] || fail "$p is still there"; done; }

step "dpkg -i $(basename "$deb")"
dpkg -i "$deb" > /tmp/liverec-dpkg-install.log 2>&1 || { cat /tmp/liverec-dpkg-install.log; fail "dpkg -i"; }
grep -q "systemctl enable --now liverec" /tmp/liverec-dpkg-install.log || fail "no next-steps hint on install"

step "files and permissions"
expect_eq "$(mode_owner /usr/bin/liverec)" "755 root:root" /usr/bin/liverec
expect_eq "$(mode_owner "$conf")" "640 root:liverec" "$conf"
dpkg-query -W -f='${Conffiles}\n' liverec | grep -q "^ $conf " || fail "$conf is not a conffile"
for f in "$unit" /usr/share/man/man1/liverec.1.gz \
         /usr/share/bash-completion/completions/liverec \
         /usr/share/zsh/vendor-completions/_liverec \
         /usr/share/fish/vendor_completions.d/liverec.fish \
         /usr/share/doc/liverec/README.md /usr/share/doc/liverec/copyright; do
  expect_eq "$(mode_owner "$f")" "644 root:root" "$f"
done
liverec --version | grep -Eq '^liverec [0-9]+\.[0-9]+\.[0-9]+ \([0-9a-f]{7,}( [0-9-]{10})?\)$' \
  || fail "liverec --version: $(liverec --version)"

step "the liverec user and its home"
IFS=: read -r _ _ uid gid _ user_home shell < <(getent passwd liverec) || fail "no liverec user"
[ "$uid" -lt 1000 ] || fail "liverec is not a system user (uid $uid)"
expect_eq "$(getent group liverec | cut -d: -f3)" "$gid" "liverec's primary group"
expect_eq "$user_home" "$home" "liverec's home"
expect_eq "$shell" /usr/sbin/nologin "liverec's shell"
expect_eq "$(mode_owner "$home")" "750 liverec:liverec" "$home"
# Not started: a daemon would have made its state folder.
expect_gone "$home/state"

step "the unit: enabled, paths of the package, systemd-analyze verify"
expect_eq "$(readlink -f /etc/systemd/system/multi-user.target.wants/liverec.service)" \
  "$(readlink -f "$unit")" "enable symlink"
grep -q '^ExecStart=/usr/bin/liverec run -c /etc/liverec/recorder.toml$' "$unit" || fail "ExecStart"
grep -q '^ExecStartPre=/usr/bin/liverec check -c /etc/liverec/recorder.toml$' "$unit" || fail "ExecStartPre"
# It exits 0 on some problems, so any output at all is a failure; Documentation=man:liverec(1)
# is looked up too, so this also finds the installed man page.
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"

step "man liverec and the bash completion, as installed"
[ "$(man -w liverec)" = /usr/share/man/man1/liverec.1.gz ] || fail "man -w liverec: $(man -w liverec)"
warnings=$(MANWIDTH=100 man --warnings liverec 2>&1 >/tmp/liverec-man.txt) || fail "man liverec"
[ -z "$warnings" ] || fail "man liverec warns: $warnings"
for word in COMMANDS "liverec completions" "--show-urls" /etc/liverec/recorder.toml; do
  grep -qF -- "$word" /tmp/liverec-man.txt || fail "man liverec lacks $word"
done
offered=$(bash --norc -c 'source /usr/share/bash-completion/completions/liverec
  COMP_WORDS=(liverec che); COMP_CWORD=1; _liverec liverec che liverec; echo "${COMPREPLY[*]}"')
expect_eq "$offered" check "bash completes 'liverec che'"

step "liverec check on the installed config, as the service user"
set +e
runuser -u liverec -- liverec check -c "$conf" > /tmp/liverec-check.out 2>&1
code=$?
set -e
expect_eq "$code" 2 "exit of check on the unedited config (it has only a placeholder room)"
grep -Eq "^$conf:[0-9]+: rooms\[0\]\.url: .*REPLACE-WITH-YOUR-ROOM-URL" /tmp/liverec-check.out \
  || fail "check does not point at the placeholder: $(cat /tmp/liverec-check.out)"
# Another unprivileged user cannot read it (cookies, tokens).
if runuser -u nobody -- cat "$conf" >/dev/null 2>&1; then fail "$conf is readable by nobody"; fi
# The user's edit: a room (nothing listens on port 9) and a control port of the OS's choosing.
sed -i -e 's#REPLACE-WITH-YOUR-ROOM-URL#http://127.0.0.1:9/live/room.flv#' \
       -e 's#^listen = "127.0.0.1:8787"#listen = "127.0.0.1:0"#' "$conf"
runuser -u liverec -- liverec check -c "$conf" > /tmp/liverec-check.out 2>&1 \
  || fail "check on the edited config: $(cat /tmp/liverec-check.out)"
grep -q "valid, 1 room(s)" /tmp/liverec-check.out || fail "check: $(cat /tmp/liverec-check.out)"

step "the daemon runs as the service user on the package's paths"
# setpriv execs (runuser would fork): $! is the daemon, as systemd's MAINPID would be.
setpriv --reuid=liverec --regid=liverec --init-groups liverec run -c "$conf" > /tmp/liverec-run.log 2>&1 &
daemon=$!
answered=""
for _ in $(seq 1 100); do
  if liverec status -c "$conf" > /tmp/liverec-status.out 2>/dev/null; then answered=1; break; fi
  kill -0 "$daemon" 2>/dev/null || break
  sleep 0.1
done
[ -n "$answered" ] || fail "the daemon never answered status: $(cat /tmp/liverec-run.log)"
grep -q "direct:" /tmp/liverec-status.out || fail "status lists no room: $(cat /tmp/liverec-status.out)"
grep -Eq "^liverec [0-9.]+ \([0-9a-f]{7,}\), pid $daemon" /tmp/liverec-status.out \
  || fail "status names no build: $(cat /tmp/liverec-status.out)"
expect_eq "$(stat -c %U "$home/state")" liverec "owner of the state the daemon made"
expect_eq "$(stat -c %U "$home/recordings")" liverec "owner of the recordings folder"
kill -TERM "$daemon"
wait "$daemon" || fail "the daemon did not stop cleanly on SIGTERM: $(cat /tmp/liverec-run.log)"
daemon=""

step "reinstall over the edited config (the upgrade path)"
dpkg -i "$deb" > /tmp/liverec-dpkg-install.log 2>&1 || { cat /tmp/liverec-dpkg-install.log; fail "dpkg -i again"; }
grep -q "127.0.0.1:9/live/room.flv" "$conf" || fail "the reinstall dropped the user's edit of $conf"
expect_eq "$(mode_owner "$conf")" "640 root:liverec" "$conf after the reinstall"

step "dpkg -r: the program goes, the config, the user and the data stay"
dpkg -r liverec > /dev/null
expect_gone /usr/bin/liverec "$unit" /usr/share/man/man1/liverec.1.gz
[ -f "$conf" ] || fail "remove deleted $conf"
getent passwd liverec >/dev/null || fail "remove deleted the liverec user"
[ -d "$home/state" ] || fail "remove deleted $home"

step "dpkg --purge: everything goes (nothing was recorded)"
dpkg --purge liverec > /dev/null
expect_gone /etc/liverec "$home" /etc/systemd/system/multi-user.target.wants/liverec.service \
  /etc/systemd/system/liverec.service
ls /var/lib/systemd/deb-systemd-helper-enabled/ 2>/dev/null | grep -q liverec \
  && fail "deb-systemd-helper state left: $(ls /var/lib/systemd/deb-systemd-helper-enabled/)"
getent passwd liverec >/dev/null && fail "purge left the liverec user"
getent group liverec >/dev/null && fail "purge left the liverec group"

step "dpkg --purge keeps recordings, and the user owning them"
dpkg -i "$deb" > /dev/null 2>&1 || fail "dpkg -i (second install)"
install -d -o liverec -g liverec "$home/recordings/bilibili"
install -o liverec -g liverec /dev/null "$home/recordings/bilibili/a.flv"
dpkg --purge liverec > /tmp/liverec-purge.log 2>&1
grep -q "kept $home" /tmp/liverec-purge.log || fail "purge did not say it kept $home"
[ -f "$home/recordings/bilibili/a.flv" ] || fail "purge deleted a recording"
getent passwd liverec >/dev/null || fail "purge deleted the owner of kept recordings"
expect_gone /etc/liverec /usr/bin/liverec

echo "package test passed: install, files, user, unit, check, run, reinstall, remove, purge"
