#!/usr/bin/env python3
"""Benchmark of `verify watch` (run by scripts/bench-watch.sh): latency from a
log append or a file creation to the alert on stderr (p50, p99), and CPU while
idle, at 1,000 lines/s, and while 1,000 student folders appear over a minute
(ONLY=folders runs that one alone; FOLDERS and SECONDS_ change its size). Everything in a temporary folder; bounded in time."""
import os, random, statistics, subprocess, sys, tempfile, threading, time

VERIFY = sys.argv[1]
SAMPLES = int(os.environ.get("SAMPLES", "100"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(args, tmp):
    p = subprocess.Popen([VERIFY, "watch", *args, "--summary-interval", "1h", "--format", "json"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp)
    alerts = {}
    def read():
        for line in p.stderr:
            alerts.setdefault(line.split("ALERT ", 1)[-1].split(":", 1)[0].strip(), time.monotonic())
    threading.Thread(target=read, daemon=True).start()
    time.sleep(0.5)
    return p, alerts


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] * 1000


def log_latency(tick):
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "g.log")
        open(log, "w").close()
        p, alerts = start(["--log", log, "--duration", "600s", "--tick", tick], tmp)
        lat = []
        with open(log, "a") as f:
            for i in range(SAMPLES):
                sid = f"test_{i:05d}"
                for src in ("10.0.0.1", "10.0.0.2"):
                    f.write(f"[2025-11-23 18:00:00 +0800] [1] [INFO] 登录成功 student_id={sid} ip={src}\n")
                    f.flush()
                t = time.monotonic()
                key = f"duplicate login {sid}"
                while key not in alerts and time.monotonic() - t < 5:
                    time.sleep(0.001)
                lat.append(alerts.get(key, t + 5) - t)
                time.sleep(random.uniform(0.02, 0.12))
        p.kill()
        return lat


def file_latency(extra):
    with tempfile.TemporaryDirectory() as tmp:
        rec = os.path.join(tmp, "rec")
        os.makedirs(rec)
        p, alerts = start(["--dir", rec, "--duration", "600s", "--grace", "0s", *extra], tmp)
        lat = []
        for i in range(SAMPLES):
            sid = f"test_{i:05d}"
            d = os.path.join(rec, sid)
            os.makedirs(d)
            open(os.path.join(d, f"{sid}_20251123_180000_seq_0001.mp4"), "w").close()
            time.sleep(0.3)
            t = time.monotonic()
            open(os.path.join(d, f"{sid}_20251123_180010_seq_0003.mp4"), "w").close()
            deadline = t + 5
            while time.monotonic() < deadline and not alerts.get("gap confirmed", 0) >= t:
                time.sleep(0.001)
            lat.append(alerts.get("gap confirmed", deadline) - t)
            alerts.pop("gap confirmed", None)
        p.kill()
        return lat


def cpu(rate):
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "g.log")
        open(log, "w").close()
        p, _ = start(["--log", log, "--duration", "600s"], tmp)
        c0, t0 = cpu_seconds(p.pid), time.monotonic()
        with open(log, "a") as f:
            end = t0 + 10
            i = 0
            while time.monotonic() < end:
                if rate:
                    f.write(f"[2025-11-23 18:00:00 +0800] [1] [INFO] 登录成功 student_id=test_{i % 100000:05d} ip=10.0.0.1\n")
                    f.flush()
                    i += 1
                    time.sleep(1 / rate)
                else:
                    time.sleep(0.5)
        used = cpu_seconds(p.pid) - c0
        secs = time.monotonic() - t0
        p.kill()
        return used / secs * 100


def cpu_folders(n, secs):
    """CPU of `verify watch --dir` while `n` student folders appear over `secs`
    seconds, each with a first segment written in 16 chunks (as an upload
    lands), and the folder reads it counted."""
    with tempfile.TemporaryDirectory() as tmp:
        rec = os.path.join(tmp, "server_data", "30", "recordings")
        os.makedirs(rec)
        p = subprocess.Popen([VERIFY, "watch", "--dir", "server_data", "--duration", f"{int(secs) + 5}s",
                              "--summary-interval", "1h", "--format", "json"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp)
        time.sleep(0.5)
        c0, t0 = cpu_seconds(p.pid), time.monotonic()
        chunk = b"x" * 4096
        for i in range(n):
            sid = f"test_{i:05d}"
            d = os.path.join(rec, sid)
            os.makedirs(d)
            with open(os.path.join(d, f"{sid}_20251123_180000_seq_0001.mp4"), "wb") as f:
                for _ in range(16):
                    f.write(chunk)
                    f.flush()
            time.sleep(max(0.0, t0 + (i + 1) * secs / n - time.monotonic()))
        used = cpu_seconds(p.pid) - c0
        wall = time.monotonic() - t0
        _, err = p.communicate(timeout=60)
        reads = next((l for l in reversed(err.splitlines()) if "folder reads" in l), "?")
        return used / wall * 100, used, wall, reads.strip()


if os.environ.get("ONLY") == "folders":
    n, secs = int(os.environ.get("FOLDERS", "1000")), float(os.environ.get("SECONDS_", "60"))
    pct_core, used, wall, reads = cpu_folders(n, secs)
    print(f"CPU while {n} student folders appear over {wall:.0f} s: {pct_core:.2f} % of one core "
          f"({used:.2f} CPU-s); {reads}")
    sys.exit(0)

for name, lat in [("log append -> duplicate alert, --tick 100ms (default)", log_latency("100ms")),
                  ("log append -> duplicate alert, --tick 20ms", log_latency("20ms")),
                  ("file created -> gap alert, inotify", file_latency([])),
                  ("file created -> gap alert, --poll (interval = --tick 100ms)", file_latency(["--poll"]))]:
    print(f"{name}: p50 {pct(lat, 0.5):.0f} ms, p99 {pct(lat, 0.99):.0f} ms, max {max(lat) * 1000:.0f} ms ({len(lat)} samples)")
print(f"CPU idle: {cpu(0):.2f} % of one core")
print(f"CPU at 1,000 lines/s: {cpu(1000):.1f} % of one core")
pct_core, used, wall, reads = cpu_folders(1000, 60)
print(f"CPU while 1000 student folders appear over {wall:.0f} s: {pct_core:.2f} % of one core ({used:.2f} CPU-s); {reads}")
