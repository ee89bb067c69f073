#!/usr/bin/env python3
"""The driver of bench/scale.sh (python3 stdlib only): one run of one liverec binary against a
fresh bench/fake_platform.py, written as JSON; and the Markdown report of one or two such runs.

  scale_run.py run     --bin B --label L --out R.json [--rooms N --duration S ...]
  scale_run.py startup --bin B --label L --out R.json [--rooms N ...]
  scale_run.py report  R1.json [R2.json] --out bench/scale-results.md

`run`: starts the fake (its clock starts with the daemon), the daemon with a generated config
of N rooms, samples /proc/PID every second for DURATION, and reports:
- peak RSS: VmHWM from /proc/PID/status at the end (the kernel's own high-water mark);
- CPU: utime+stime from /proc/PID/stat, over the whole run (s per minute) and over the idle
  window (the last IDLE seconds, when no room is live: lives end IDLE+10 s before the end);
- API requests: the fake's counters (total and per endpoint, per second of the run);
- live -> first byte: for every room that went live, the first second at which the daemon's
  GET /api/status shows `bytes_total` > 0 for it (polled once a second, only while a live room
  has not been seen recording, so the idle window is not disturbed), from the moment it went
  live on the fake's clock (t0 for rooms live at start); and, as a proxy, the first media
  request the fake served for it. Rooms that never started recording are listed.
`startup`: times `liverec check`, the daemon's start (spawn -> GET /api/status answering) and
`liverec status` (just after start and after a minute), and the RSS after a minute.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


def http_get(url, timeout=10.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def http_post(url, timeout=10.0):
    req = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def mem_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Fake:
    def __init__(self, a, work, live=True):
        cmd = [sys.executable, os.path.join(HERE, "fake_platform.py"), "--platform", a.platform,
               "--rooms", str(a.rooms), "--seed", str(a.seed), "--rate", str(a.rate)]
        if live:
            cmd += ["--live-at-start", str(a.live_at_start), "--go-live", str(a.go_live),
                    "--go-live-from", str(a.go_live_from), "--go-live-within", str(a.go_live_within),
                    "--live-end", str(a.duration - a.idle - 10), "--live-for", str(a.live_for)]
        else:
            cmd += ["--live-at-start", "0", "--go-live", "0"]
        self.log = open(os.path.join(work, "fake.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise SystemExit(f"the fake platform did not start (see {work}/fake.log)")
        self.base = f"http://127.0.0.1:{int(line.split()[1])}"

    def get(self, what):
        return json.loads(http_get(f"{self.base}/_bench/{what}", 30)[1])

    def start(self, t0):
        http_post(f"{self.base}/_bench/start?t0={t0!r}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def write_config(a, work, base, urls):
    path = os.path.join(work, "scale.toml")
    with open(path, "w") as f:
        f.write(f'output_dir = "{work}/rec"\nstate_dir = "{work}/state"\n')
        f.write(f'poll_interval = "{a.poll}"\nmin_free_space = "{a.min_free}"\n')
        f.write('[control]\nlisten = "127.0.0.1:0"\n')
        f.write(f'[platforms.{a.platform}]\napi_base = "{base}"\n')
        extra = [line.strip() for line in a.platform_extra.split(";") if line.strip()]
        if a.platform == "bilibili" and not any(line.startswith("live_push") for line in extra):
            # Bilibili's default, spelled out: every idle room keeps a chat connection (the fake
            # answers getDanmuInfo and the WebSocket, and pushes LIVE), as a user's daemon does.
            extra.append("live_push = true")
        for line in extra:
            f.write(line + "\n")
        for u in urls:
            f.write(f'[[rooms]]\nurl = "{u}"\n')
    return path


class Daemon:
    def __init__(self, a, work, cfg):
        self.work = work
        env = dict(os.environ, RUST_LOG=a.log)
        self.log = open(os.path.join(work, "daemon.log"), "w")
        self.proc = subprocess.Popen([a.bin, "run", "-c", cfg], stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        self.pid = self.proc.pid
        self.api = None

    def control(self):
        if self.api is None:
            try:
                with open(os.path.join(self.work, "state", "control.json")) as f:
                    self.api = "http://" + json.load(f)["listen"]
            except (OSError, ValueError, KeyError):
                return None
        return self.api

    def status(self, timeout=10.0):
        api = self.control()
        if api is None:
            return None
        try:
            return json.loads(http_get(f"{api}/api/status", timeout)[1])
        except (OSError, ValueError):
            return None

    def stop(self):
        """SIGTERM, and the time the daemon took to exit (it closes its files first)."""
        if self.proc.poll() is not None:
            self.log.close()
            return None
        t = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return round(time.monotonic() - t, 2)


def timed(cmd, env=None):
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    return round(time.monotonic() - t, 3), p.returncode, p.stderr


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for n in files:
            try:
                total += os.path.getsize(os.path.join(root, n))
            except OSError:
                pass
    return total


def log_summary(work, out):
    """Counts the daemon's log lines by level and keeps its last lines next to the result."""
    levels, tail = {}, []
    try:
        with open(os.path.join(work, "daemon.log"), errors="replace") as f:
            for line in f:
                for lvl in ("ERROR", "WARN", "INFO", "DEBUG"):
                    if f" {lvl} " in line[:60]:
                        levels[lvl] = levels.get(lvl, 0) + 1
                        break
                tail.append(line)
                if len(tail) > 400:
                    del tail[:200]
        with open(out + ".log", "w") as f:
            f.writelines(tail[-200:])
    except OSError:
        pass
    return levels


# What the daemon's log says about waiting and failing: a budget warning, backoffs, checks
# that failed or were cut.
LOG_PATTERNS = {
    "budget warning": "each room is checked about",
    "backoffs (risk control)": "pausing every",
    "status checks failed": "status check failed",
    "timed out / gave up": ("timed out", "gave up after"),
    "batch stood down": "rooms are checked one by one",
}


def log_patterns(work):
    counts = {k: 0 for k in LOG_PATTERNS}
    warning = None
    try:
        with open(os.path.join(work, "daemon.log"), errors="replace") as f:
            for line in f:
                for k, pat in LOG_PATTERNS.items():
                    pats = pat if isinstance(pat, tuple) else (pat,)
                    if any(p in line for p in pats):
                        counts[k] += 1
                        if k == "budget warning" and warning is None:
                            warning = line[line.find("platforms."):].strip()
    except OSError:
        pass
    return counts, warning


def version(binary):
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
        return out.strip().splitlines()[0] if out.strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def common(a):
    return {"label": a.label, "bin": a.bin, "version": version(a.bin), "platform": a.platform,
            "rooms": a.rooms, "poll": a.poll, "seed": a.seed, "date": time.strftime("%Y-%m-%d %H:%M"),
            "nproc": os.cpu_count(), "load_before": load()}


def run(a, work):
    res = common(a)
    res.update(mode="run", duration=a.duration, idle=a.idle, rate=a.rate,
               live_at_start=a.live_at_start, go_live=a.go_live)
    fake = Fake(a, work)
    sched = fake.get("schedule")
    cfg = write_config(a, work, fake.base, sched["rooms"])
    lives = sched["lives"]
    t0 = time.monotonic()
    fake.start(t0)
    d = Daemon(a, work, cfg)
    seen, status_calls, idle_from, idle_recording = {}, 0, None, None
    rss_at = {}
    exited = None
    try:
        tick = 0
        while True:
            tick += 1
            delay = t0 + tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            rel = time.monotonic() - t0
            if d.proc.poll() is not None:
                exited = {"at": round(rel, 1), "code": d.proc.returncode}
                break
            cpu = cpu_ticks(d.pid)
            if idle_from is None and rel >= a.duration - a.idle:
                idle_from = (rel, cpu)
                st = d.status()
                status_calls += 1
                idle_recording = None if st is None else sum(
                    1 for r in st["rooms"] if r["state"] in ("recording", "live", "failing"))
            if rel >= a.duration:
                break
            if tick % 60 == 0:
                rss_at[str(tick)] = mem_kib(d.pid).get("VmRSS")
            pending = {l["url"] for l in lives if l["start"] <= rel < l["end"] and l["url"] not in seen}
            if pending:
                st = d.status()
                status_calls += 1
                for r in (st or {}).get("rooms", []):
                    if r.get("url") in pending and r.get("bytes_total", 0) > 0:
                        seen[r["url"]] = round(time.monotonic() - t0, 1)
        end_rel = time.monotonic() - t0
        if exited is None:
            cpu_end = cpu_ticks(d.pid)
            mem = mem_kib(d.pid)
            st = d.status()
            states = {}
            for r in (st or {}).get("rooms", []):
                states[r["state"]] = states.get(r["state"], 0) + 1
            res["states_at_end"] = states
            # What the benchmark's own GET /api/status polling costs the daemon, so that it can
            # be told apart from the daemon's own work (it never runs in the idle window).
            c0, n = cpu_ticks(d.pid), 50
            for _ in range(n):
                d.status()
            res["status_call_cpu_ms"] = round((cpu_ticks(d.pid) - c0) / TICK / n * 1000, 2)
            res["peak_rss_mib"] = round(mem["VmHWM"] / 1024, 1)
            res["rss_end_mib"] = round(mem["VmRSS"] / 1024, 1)
            res["rss_per_minute_mib"] = {k: round(v / 1024, 1) for k, v in rss_at.items() if v}
            res["cpu_s"] = round(cpu_end / TICK, 2)
            res["cpu_s_per_min"] = round(cpu_end / TICK / (end_rel / 60), 3)
            if idle_from:
                span = end_rel - idle_from[0]
                res["idle_window_s"] = round(span, 1)
                res["idle_cpu_pct"] = round((cpu_end - idle_from[1]) / TICK / span * 100, 2)
                res["idle_rooms_recording"] = idle_recording
        stats = fake.get("stats")
    finally:
        res["shutdown_s"] = d.stop()
        fake.stop()
        res["log_counts"], res["budget_warning"] = log_patterns(work)
    res["exited"] = exited
    res["load_after"] = load()
    res["status_calls"] = status_calls
    res["run_s"] = round(end_rel, 1)
    res["bytes_written"] = dir_bytes(os.path.join(work, "rec"))
    res["requests"] = stats["requests"]
    res["unknown_paths"] = stats["unknown_paths"]
    res["api_total"] = stats["api_total"]
    res["api_per_s"] = round(stats["api_total"] / end_rel, 3)
    res["api_per_10s"] = stats["per_10s"]
    res["checks"] = stats["checks"]
    res["chat"] = stats.get("chat")
    out = []
    for l in stats["lives"]:
        went = max(l["start"], 0.0)
        s = seen.get(l["url"])
        out.append({"url": l["url"], "live_at": l["start"], "live_until": l["end"],
                    "first_byte_s": None if s is None else round(s - went, 1),
                    "first_media_s": None if l["first_media"] is None else round(l["first_media"] - went, 1),
                    "media_requests": l["media_requests"], "checks": l["checks"], "first_check": l["first_check"],
                    "inits": l["inits"]})
    res["lives"] = out
    return res


def startup(a, work):
    res = common(a)
    res.update(mode="startup", minute=a.minute)
    fake = Fake(a, work, live=False)
    cfg = write_config(a, work, fake.base, fake.get("schedule")["rooms"])
    res["check_s"], res["check_rc"], err = timed([a.bin, "check", "-c", cfg])
    res["check_notes"] = [l for l in err.splitlines() if l.strip()][:5]
    t0 = time.monotonic()
    fake.start(t0)
    d = Daemon(a, work, cfg)
    try:
        while time.monotonic() - t0 < 120 and d.proc.poll() is None:
            st = d.status(timeout=5)
            if st is not None:
                res["start_s"] = round(time.monotonic() - t0, 3)
                res["listed_at_start"] = len(st["rooms"])
                break
            time.sleep(0.01)
        res["status_first_s"], res["status_rc"], _ = timed([a.bin, "status", "-c", cfg])
        time.sleep(max(0.0, t0 + a.minute - time.monotonic()))
        if d.proc.poll() is None:
            mem = mem_kib(d.pid)
            res["rss_after_minute_mib"] = round(mem["VmRSS"] / 1024, 1)
            res["peak_rss_mib"] = round(mem["VmHWM"] / 1024, 1)
            res["cpu_s_first_minute"] = round(cpu_ticks(d.pid) / TICK, 2)
            runs = [timed([a.bin, "status", "-c", cfg])[0] for _ in range(3)]
            res["status_minute_s"] = statistics.median(runs)
            st = d.status()
            res["listed_after_minute"] = None if st is None else len(st["rooms"])
        stats = fake.get("stats")
        res["requests"] = stats["requests"]
        res["api_total"] = stats["api_total"]
        res["checks"] = stats["checks"]
        res["minute_s"] = round(time.monotonic() - t0, 1)
    finally:
        res["shutdown_s"] = d.stop()
        fake.stop()
    res["exited"] = None if d.proc.returncode in (0, None) else d.proc.returncode
    res["load_after"] = load()
    return res


# ---- report ----

def fmt(v, unit=""):
    if v is None:
        return "-"
    return f"{v}{unit}"


def latency_cells(r):
    lives = r["lives"]
    got = sorted(l["first_byte_s"] for l in lives if l["first_byte_s"] is not None)
    never = [l for l in lives if l["first_byte_s"] is None]
    media = sorted(l["first_media_s"] for l in lives if l["first_media_s"] is not None)
    med = f"{statistics.median(got):.1f} s" if got else "-"
    worst = f"{got[-1]:.1f} s" if got else "-"
    if never:
        worst = f"never ({len(never)} of {len(lives)})" + (f"; recorded: {got[-1]:.1f} s" if got else "")
    mmed = f"{statistics.median(media):.1f} s" if media else "-"
    mworst = f"{media[-1]:.1f} s" if media else "-"
    if len(media) < len(lives):
        mworst = f"never ({len(lives) - len(media)} of {len(lives)})" + (f"; served: {media[-1]:.1f} s" if media else "")
    return med, worst, mmed, mworst, never


def report(paths, out):
    rs = [json.load(open(p)) for p in paths]
    runs = [r for r in rs if r["mode"] == "run"]
    starts = [r for r in rs if r["mode"] == "startup"]
    lines = []
    if runs:
        lines += run_table(runs)
    if starts:
        lines += [""] if lines else []
        lines += startup_table(starts)
    text = "\n".join(lines) + "\n"
    with open(out, "w") as f:
        f.write(text)
    sys.stdout.write(text)


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def run_table(runs):
    r0 = runs[0]
    lines = [f"`bench/scale.sh`, {r0['date']}, {r0['nproc']} cores: {r0['rooms']} {r0['platform']} rooms, "
             f"poll_interval {r0['poll']}, {r0['live_at_start']} live at start and {r0['go_live']} going live "
             f"later (seed {r0['seed']}), streams at {r0['rate'] // 1000} KB/s, {r0['duration']} s per run, "
             f"the last {r0['idle']} s with no room live.", ""]
    head = ["metric"] + [f"{r['label']} ({r['version']})" for r in runs]
    rows = []
    lat = [latency_cells(r) for r in runs]

    def row(name, f):
        rows.append([name] + [f(r) for r in runs])
    row("peak RSS (VmHWM)", lambda r: fmt(r.get("peak_rss_mib"), " MiB"))
    row("RSS at the end (idle)", lambda r: fmt(r.get("rss_end_mib"), " MiB"))
    row("CPU per minute (whole run)", lambda r: fmt(r.get("cpu_s_per_min"), " s"))
    row("idle CPU (% of a core, no room live)",
        lambda r: f"{r['idle_cpu_pct']} % over {r['idle_window_s']} s" if r.get("idle_cpu_pct") is not None else "-")
    row("API requests per second (total)", lambda r: f"{r['api_per_s']} ({r['api_total']} in {r['run_s']} s)")
    names = sorted({k for r in runs for k in r["requests"] if k != "media"})
    for n in names:
        row(f"&nbsp;&nbsp;{n} /s", lambda r, n=n: f"{r['requests'].get(n, 0) / r['run_s']:.3f}")
    row("API requests per 10 s (first minute)", lambda r: " ".join(str(x) for x in r["api_per_10s"][:6]))
    row("rooms with no status check at all", lambda r: f"{r['checks']['never']} of {r['rooms']}")
    row("every room checked once by", lambda r: fmt(r["checks"]["all_checked_at"], " s") if r["checks"]["all_checked_at"] is not None else "never")
    row("status checks per room (min / median / max)",
        lambda r: f"{r['checks']['min']} / {r['checks']['median']} / {r['checks']['max']}")
    row("time between two checks of an idle room (median / max)",
        lambda r: f"{fmt(r['checks'].get('gap_median'), ' s')} / {fmt(r['checks'].get('gap_max'), ' s')}"
        if r["checks"].get("gaps") else "- (no room checked twice)")
    row("daemon's budget warning", lambda r: f"\"{r['budget_warning']}\"" if r.get("budget_warning") else "none")
    row("log: backoffs / failed checks / timed out / batch stood down",
        lambda r: " / ".join(str(r.get("log_counts", {}).get(k, "-")) for k in
                             ("backoffs (risk control)", "status checks failed", "timed out / gave up",
                              "batch stood down")))
    for i, (name, k) in enumerate([("live -> first byte (API status), median", 0),
                                   ("live -> first byte (API status), worst", 1),
                                   ("live -> first media request, median", 2),
                                   ("live -> first media request, worst", 3)]):
        rows.append([name] + [l[k] for l in lat])
    row("rooms live but never recorded",
        lambda r: ", ".join(f"{l['url'].rsplit('/', 1)[1]} (live at {l['live_at']:.0f} s)"
                            for l in r["lives"] if l["first_byte_s"] is None) or "none")
    row("rooms GET /api/status lists at the end, by state",
        lambda r: (f"{sum(r['states_at_end'].values())}: " + ", ".join(f"{k} {v}" for k, v in sorted(r["states_at_end"].items())))
        if r.get("states_at_end") is not None else "-")
    row("bytes written", lambda r: f"{r['bytes_written'] / 1048576:.0f} MiB")
    row("chat connections open at the end / LIVE pushes sent",
        lambda r: f"{r['chat']['open']} / {r['chat']['live_pushed']}" if r.get("chat") else "-")
    row("load average before / after", lambda r: f"{r['load_before']} / {r['load_after']}")
    lines += table(head, rows)
    notes = []
    for r in runs:
        if r.get("exited"):
            notes.append(f"- {r['label']}: the daemon EXITED at {r['exited']['at']} s with code {r['exited']['code']}.")
        if r.get("unknown_paths"):
            notes.append(f"- {r['label']}: asked paths the fake does not serve: {r['unknown_paths']}.")
        if r.get("idle_rooms_recording"):
            notes.append(f"- {r['label']}: {r['idle_rooms_recording']} rooms were still live/recording when the idle window began.")
        notes.append(f"- {r['label']}: every live room, went live at (s) -> first byte (s after going live) / first "
                     "media request (s after) [its first status check, s after t0]: "
                     + "; ".join(f"{l['url'].rsplit('/', 1)[1]} {l['live_at']:.0f} -> {fmt(l['first_byte_s'])} / "
                                 f"{fmt(l['first_media_s'])} [{fmt(l.get('first_check'))}]"
                                 for l in r["lives"])
                     + f". The benchmark made {r['status_calls']} GET /api/status calls, "
                     f"{fmt(r.get('status_call_cpu_ms'))} ms of the daemon's CPU each.")
    return lines + [""] + notes


def startup_table(rs):
    r0 = rs[0]
    lines = [f"`bench/scale.sh startup`, {r0['date']}: {r0['rooms']} {r0['platform']} rooms, none live, "
             f"poll_interval {r0['poll']}.", ""]
    head = ["metric"] + [f"{r['label']} ({r['version']})" for r in rs]
    rows = []

    def row(name, f):
        rows.append([name] + [f(r) for r in rs])
    row("`liverec check` (wall)", lambda r: f"{r['check_s']} s (exit {r['check_rc']})")
    row("daemon start: spawn -> GET /api/status answers", lambda r: fmt(r.get("start_s"), " s"))
    row("`liverec status` just after start", lambda r: fmt(r.get("status_first_s"), " s"))
    row("rooms GET /api/status lists just after start", lambda r: fmt(r.get("listed_at_start")))
    m = f"{r0['minute']:g} s"
    row(f"`liverec status` after {m} (median of 3)", lambda r: fmt(r.get("status_minute_s"), " s"))
    row(f"rooms GET /api/status lists after {m}", lambda r: fmt(r.get("listed_after_minute")))
    row(f"RSS after {m}", lambda r: fmt(r.get("rss_after_minute_mib"), " MiB"))
    row(f"peak RSS in the first {m}", lambda r: fmt(r.get("peak_rss_mib"), " MiB"))
    row(f"CPU in the first {m}", lambda r: fmt(r.get("cpu_s_first_minute"), " s"))
    row(f"API requests in the first {m}", lambda r: f"{r['api_total']} ({', '.join(f'{k} {v}' for k, v in sorted(r['requests'].items()))})")
    row(f"rooms with a status check in the first {m}", lambda r: f"{r['rooms'] - r['checks']['never']} of {r['rooms']}")
    row("shutdown (SIGTERM -> exit)", lambda r: fmt(r.get("shutdown_s"), " s"))
    row("load average before / after", lambda r: f"{r['load_before']} / {r['load_after']}")
    out = lines + table(head, rows)
    for r in rs:
        if r.get("check_notes"):
            out.append(f"\n- {r['label']}: `liverec check` said on stderr: " + " / ".join(f"`{n}`" for n in r["check_notes"]))
    return out


def main():
    p = argparse.ArgumentParser(description="driver of bench/scale.sh")
    p.add_argument("mode", choices=["run", "startup", "report"])
    p.add_argument("inputs", nargs="*")
    p.add_argument("--bin")
    p.add_argument("--label", default="liverec")
    p.add_argument("--out", required=True)
    p.add_argument("--platform", default="bilibili")
    p.add_argument("--rooms", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=int, default=480)
    p.add_argument("--idle", type=int, default=60)
    p.add_argument("--poll", default="30s")
    p.add_argument("--live-at-start", type=int, default=5)
    p.add_argument("--go-live", type=int, default=5)
    p.add_argument("--go-live-from", type=float, default=30)
    p.add_argument("--go-live-within", type=float, default=180)
    p.add_argument("--live-for", type=float, default=0)
    p.add_argument("--rate", type=int, default=300_000)
    p.add_argument("--min-free", default="1GiB")
    p.add_argument("--minute", type=float, default=60)
    p.add_argument("--platform-extra", default="", help="lines (split on ;) for the [platforms.X] table")
    p.add_argument("--log", default="info", help="RUST_LOG of the daemon")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    a = p.parse_args()
    if a.mode == "report":
        return report(a.inputs, a.out)
    work = tempfile.mkdtemp(prefix="liverec-scale.")
    try:
        res = run(a, work) if a.mode == "run" else startup(a, work)
        res["log_lines"] = log_summary(work, a.out)
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1, ensure_ascii=False)
    finally:
        if a.keep:
            print(f"(kept {work})", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
