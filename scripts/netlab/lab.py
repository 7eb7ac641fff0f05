#!/usr/bin/env python3
"""The three-worker lab, end to end (run by scripts/netlab/test.sh inside the
PREFIX-master namespace, as the person at the master's browser would be).

The reference target runs in PREFIX-server, a real Locust master with its
web UI here (the users' guide's command: no --expect-workers; its locustfile
hands every worker the exact IDs of its users), one `loadgen worker` from the unpacked release bundle in each of
PREFIX-w1..w3 (20 ms +- 5 ms, 0.5 % loss each way). The master is driven
through the web UI's own endpoints (POST /swarm, GET /stats/requests,
POST /stop, GET /stats/requests/csv), as the browser does. Four acts:

1. 60 users over 3 workers: 60 distinct IDs in the server's log, one
   contiguous block per worker, `verify gate` exits 0, and the master's CSV
   equals the sum of the workers' own run reports, per request name.
2. Stop and a new swarm: the README says a new run restarts the range, so
   `verify ids` must show the repeated IDs as relogins, no collision.
3. On a fresh server: worker w3's machine dies (process killed, cable
   pulled); the master moves its users; the machine comes back and a new
   worker joins (a new, higher index): all IDs disjoint, `verify ids` finds
   no collision, and `verify gate` names exactly the dead worker's students
   as short.
4. The master is killed: every worker stops its users and exits with its
   report within --master-timeout.

Usage: lab.py REPO BUNDLE_DIR OUT   (figures for docs/bench.md in OUT/figures.json)
"""
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

REPO, BUNDLE, OUT = sys.argv[1:4]
P = os.environ.get("NETLAB_PREFIX", "sl")
MASTER, SERVER = "10.231.0.10", "10.231.0.20"
UI = f"http://{MASTER}:8089"
LOADGEN = os.path.join(BUNDLE, "bin", "loadgen")
VERIFY = os.path.join(BUNDLE, "bin", "verify")
MASTER_TIMEOUT = 10
USERS = 60
procs = []
figures = {}


def log(msg):
    print(f"netlab: {msg}", flush=True)


def fail(msg):
    raise SystemExit(f"netlab: FAIL: {msg}")


def check(cond, msg):
    if not cond:
        fail(msg)
    log(f"ok: {msg}")


def in_ns(ns, args):
    """`args` run in lab host `ns` (None: here, in the master's namespace)."""
    return (["ip", "netns", "exec", f"{P}-{ns}"] if ns else []) + args


def start(name, args, ns=None):
    """A process of the lab, its output in OUT/NAME.log; killed at the end."""
    cmd = in_ns(ns, args)
    out = open(os.path.join(OUT, f"{name}.log"), "wb")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(p)
    return p


def run(args, ns=None, ok=(0,)):
    cmd = in_ns(ns, args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode not in ok:
        fail(f"{' '.join(args)} exited {r.returncode}: {r.stderr[-2000:]}")
    return r


def http(method, path, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(UI + path, data=data, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def stats():
    return json.loads(http("GET", "/stats/requests"))


def until(what, pred, limit):
    """Polls `pred` (returns a truthy value when done) every 0.25 s."""
    end = time.monotonic() + limit
    last = err = None
    while time.monotonic() < end:
        try:
            last = pred()
        except (OSError, ValueError) as e:
            last, err = None, e
        if last:
            return last
        time.sleep(0.25)
    fail(f"{what}: not within {limit} s (last answer {last!r}, last error {err!r})")


def workers_running(n, users):
    s = stats()
    running = [w for w in s.get("workers", []) if w["state"] in ("running", "spawning") and w["user_count"] > 0]
    return s if len(running) == n and s.get("user_count") == users and s.get("state") == "running" else None


def server_up(name, port):
    """The reference target in the server's namespace behind nginx on the lab
    address, as deployed; its exam created with `loadgen setup`."""
    d = os.path.join(OUT, name)
    env = ["env", f"TARGET_VENV={os.environ['TARGET_VENV']}"]
    upstream = run(env + [os.path.join(REPO, "scripts/target-up.sh"), d, "--capture-output", "--login-lines", "--merge-gaps", "merge"],
                   ns="server").stdout.strip()
    front = os.path.join(d, "front")
    for sub in ("body", "proxy"):
        os.makedirs(os.path.join(front, sub), exist_ok=True)
    with open(os.path.join(REPO, "scripts/netlab/front.conf.in"), encoding="utf-8") as f:
        conf = f.read().replace("@DIR@", front).replace("@LISTEN@", f"{SERVER}:{port}")
    with open(os.path.join(front, "nginx.conf"), "w", encoding="utf-8") as f:
        f.write(conf.replace("@UPSTREAM@", upstream.removeprefix("http://")))
    run(["nginx", "-c", os.path.join(front, "nginx.conf"), "-e", os.path.join(front, "error.log")], ns="server")
    url = f"http://{SERVER}:{port}"
    until(f"{url} answers", lambda: urllib.request.urlopen(url + "/api/health", timeout=2).status == 200, 20)
    run([LOADGEN, "setup", "--host", url, "--students", "600"])
    return d, url


def server_down(d):
    with open(os.path.join(d, "front", "nginx.pid"), encoding="utf-8") as f:
        os.kill(int(f.read().strip()), signal.SIGTERM)
    run([os.path.join(REPO, "scripts/target-down.sh"), d, "30"], ns="server")


def worker(name, ns):
    return start(name, [
        LOADGEN, "worker", "--master-host", MASTER, "--node-id", f"lab-{name}",
        "--segment-interval", "1s", "--flush-every", "1s", "--segment-size", "8K", "--every", "heartbeat=2s", "--every", "screenshot=5s",
        "--stop-timeout", "5s", "--master-timeout", f"{MASTER_TIMEOUT}s",
        "--ledger", os.path.join(OUT, f"{name}.ledger"), "--run-reports", os.path.join(OUT, f"{name}-runs"),
        "--json", os.path.join(OUT, f"{name}.json"),
    ], ns=ns)


def swarm(url, users=USERS):
    r = json.loads(http("POST", "/swarm", {"user_count": users, "spawn_rate": 20, "host": url}))
    check(r.get("success"), f"POST /swarm {users} users on {url}: {r.get('message')}")


def stop():
    check(json.loads(http("POST", "/stop")).get("success"), "POST /stop")
    until("the master reports the run stopped", lambda: stats().get("state") == "stopped", 30)


def verify_json(args, ok=(0, 1)):
    r = run([VERIFY] + args + ["--format", "json"], ok=ok)
    return r.returncode, json.loads(r.stdout)


def ids_of(ledger):
    with open(ledger, encoding="utf-8") as f:
        return {json.loads(line)["student"] for line in f if '"kind":"login"' in line}


def number(i):
    return int(i.rsplit("_", 1)[1])


def chromium(*args):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={os.path.join(OUT, 'chromium-profile')}", "--window-size=1400,1000",
             "--virtual-time-budget=6000"]
    return subprocess.run(["chromium"] + flags + list(args) + [UI + "/"], capture_output=True, text=True, timeout=120)


def screenshot(path):
    """The web UI as a person sees it, in Debian's Chromium (headless): the
    page as rendered must show 3 workers, 60 users and our request names."""
    dom = chromium("--dump-dom")
    text = re.sub(r"<[^>]+>", "|", dom.stdout)
    shown = {k: re.search(k + r"\|+(\d+)\|", text) for k in ("Workers", "Users")}
    check(dom.returncode == 0 and shown["Workers"] and shown["Workers"].group(1) == "3"
          and shown["Users"] and shown["Users"].group(1) == str(USERS)
          and all(f"|{n}|" in text for n in ("login", "heartbeat", "screenshot", "recording")),
          f"the web UI as rendered shows 3 workers, {USERS} users and every request name")
    r = chromium(f"--screenshot={path}")
    check(r.returncode == 0 and os.path.getsize(path) > 10000, f"web UI screenshot {path}")


def act1(url, srv):
    swarm(url)
    s = until("3 workers running 60 users", lambda: workers_running(3, USERS), 60)
    check(sorted(w["user_count"] for w in s["workers"]) == [20, 20, 20], "20 users on each of the 3 workers")
    time.sleep(8)
    figures["requests_per_s_through_master"] = round(stats()["total_rps"], 1)
    screenshot(os.path.join(OUT, "webui.png"))
    time.sleep(4)
    stop()
    reports = {}
    for w in ("w1", "w2", "w3"):
        path = os.path.join(OUT, f"{w}-runs", "run-1.json")
        until(f"{w}'s run report", lambda: os.path.exists(path) and os.path.getsize(path) > 0, 20)
        with open(path, encoding="utf-8") as f:
            reports[w] = json.load(f)
    # The master's CSV against the workers' own figures, per request name.
    rows = list(csv.DictReader(io.StringIO(http("GET", "/stats/requests/csv"))))
    master = {r["Name"]: (int(r["Request Count"]), int(r["Failure Count"])) for r in rows if r["Name"] != "Aggregated"}
    ours = {}
    for rep in reports.values():
        for e in rep["endpoints"]:
            if e["requests"]:
                a, b = ours.get(e["name"], (0, 0))
                ours[e["name"]] = (a + e["requests"], b + e["failures"])
    check(master == ours, f"master CSV equals the sum of the workers' run reports: {master} vs {ours}")
    figures["run1_requests"] = sum(v[0] for v in master.values())
    figures["run1_failures"] = sum(v[1] for v in master.values())
    figures["task_lateness_p99_ms"] = {
        t["name"]: max(x["p99_ms"] for rep in reports.values() for x in rep["task_lateness"] if x["name"] == t["name"])
        for t in reports["w1"]["task_lateness"]
    }
    # One contiguous block per worker, together the population, and the server saw exactly those.
    blocks = []
    for w, rep in reports.items():
        m = re.match(r"test_(\d+)\.\.test_(\d+) ", rep["id_range"])
        check(m is not None, f"{w} names its block: {rep['id_range']}")
        blocks.append((int(m.group(1)), int(m.group(2))))
        check(rep["students"]["logged_in"] == 20, f"{w} logged in 20 students")
        check("from the master" in rep["id_range"] and not rep.get("ids_outside_population"),
              f"{w} used the master's IDs, none outside the population")
    blocks.sort()
    check([b[1] - b[0] + 1 for b in blocks] == [20, 20, 20] and blocks[0][0] == 1
          and all(blocks[i][1] + 1 == blocks[i + 1][0] for i in range(2)), f"disjoint contiguous blocks {blocks}")
    log_file = os.path.join(srv, "logs", "gunicorn_error.log")
    code, ids = verify_json(["ids", "--log", log_file, "--expect", "test_00001..test_00060"])
    check(code == 0 and ids["summary"]["distinct_ids"] == 60 and ids["summary"]["duplicated_ids"] == 0,
          f"60 distinct IDs in the server's log, none twice (exit {code}, {ids['summary']})")
    # The merges of the 60 logouts are queued; the gate reads their log once they ran.
    merge_log = os.path.join(srv, "logs", "celery_worker_merge.log")
    until("celery merged 60 students", lambda: open(merge_log, encoding="utf-8", errors="replace").read().count("succeeded") >= 60, 60)
    ledgers = [os.path.join(OUT, f"{w}.ledger") for w in ("w1", "w2", "w3")]
    code, gate = verify_json(["gate", "--log", log_file, "--celery-log", merge_log, "--dir", os.path.join(srv, "server_data"),
                              "--expect", "test_00001..test_00060", "--ledger"] + ledgers)
    check(code == 0, f"verify gate on the server's logs and tree exits 0 (failed on {gate.get('failed_on')})")
    return log_file


def act2(url, log_file):
    swarm(url)
    until("3 workers running 60 users again", lambda: workers_running(3, USERS), 60)
    time.sleep(6)
    stop()
    # The README: a new swarm is a new run and restarts the range. Logins of one
    # ID in different runs are 20 s or more apart, within one run a few seconds.
    code, ids = verify_json(["ids", "--log", log_file, "--window", "10s"])
    s = ids["summary"]
    check(s["distinct_ids"] == 60 and s["collisions"] == 0 and s["relogins"] == 60,
          f"run 2 reused run 1's IDs as relogins, no collision ({s})")


def act3(url, srv):
    swarm(url)
    until("3 workers running 60 users on the fresh server", lambda: workers_running(3, USERS), 60)
    time.sleep(4)
    # w3's machine dies: the process first (its sockets close), then the cable.
    dead = procs_by_name["w3"]
    os.killpg(dead.pid, signal.SIGKILL)
    dead.wait()
    time.sleep(0.5)
    run([os.path.join(REPO, "scripts/netlab/wire.sh"), "cut", "w3"])
    log("w3 killed and its cable cut")
    until("the master moved w3's users to w1 and w2", lambda: workers_running(2, USERS), 30)
    time.sleep(20)  # the moved users reach 20 segments, far from the threshold of 12
    run([os.path.join(REPO, "scripts/netlab/wire.sh"), "plug", "w3"])
    procs_by_name["w3b"] = worker("w3b", "w3")
    s = until("the new worker took its share", lambda: workers_running(3, USERS), 40)
    log(f"workers now: {[(w['id'], w['user_count']) for w in s['workers'] if w['state'] != 'missing']}")
    time.sleep(8)


def after_death(ledger, unix):
    """Seconds from `unix` to each logout the ledger started after it, and to
    the last segment recorded (its `recorded_ms`) after it."""
    logouts, recorded = [], []
    with open(ledger, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "run":
                t0 = r["started_unix_ms"] / 1000
            elif r["kind"] == "logout" and t0 + r["start_ms"] / 1000 > unix:
                logouts.append(t0 + r["start_ms"] / 1000 - unix)
            elif r["kind"] == "upload" and r.get("recorded_ms") is not None and t0 + r["recorded_ms"] / 1000 > unix:
                recorded.append(t0 + r["recorded_ms"] / 1000 - unix)
    return logouts, recorded


def act4():
    kill_at, kill_unix = time.monotonic(), time.time()
    os.killpg(procs_by_name["master"].pid, signal.SIGKILL)
    procs_by_name["master"].wait()
    took, stopped, logged_out = {}, {}, {}
    for w in ("w1", "w2", "w3b"):
        p = procs_by_name[w]
        try:
            code = p.wait(timeout=MASTER_TIMEOUT + 20)
        except subprocess.TimeoutExpired:
            fail(f"{w} still runs {MASTER_TIMEOUT + 20} s after the master died")
        took[w] = round(time.monotonic() - kill_at, 1)
        text = open(os.path.join(OUT, f"{w}.log"), encoding="utf-8", errors="replace").read()
        report = os.path.join(OUT, f"{w}.json")
        interrupted = os.path.exists(report) and json.load(open(report, encoding="utf-8")).get("interrupted") is True
        # The run ended before its plan: INTERRUPTED, exit 3 (1 when the lossy
        # link also pushed the failures over the limit: a failure outranks it).
        check(code in (1, 3) and "master is gone" in text and interrupted,
              f"{w} stopped its users and exited ({code}, interrupted) with its report {took[w]} s after the master died")
        after, recorded = after_death(os.path.join(OUT, f"{w}.ledger"), kill_unix)
        check(len(after) == 20, f"{w}'s 20 students logged out after the master died")
        stopped[w] = round(max(recorded, default=0), 2)
        logged_out[w] = round(min(after), 2)
    # Users are told to stop --master-timeout after the last master heartbeat
    # the worker received: sent before the death, but on this lossy link one
    # may arrive late (a retransmission: 0.2-1 s), so 1.5 s of slack. A
    # stopped user records no new segment; like the real client it then
    # uploads what it still queues (one file a second: at most two segments
    # of 1 s here) before its logout, hence 2 s more for the first logout.
    # The worker exits once the logouts are done, within --stop-timeout (a
    # logout whose packet the link lost waits for TCP to send it again).
    check(max(stopped.values()) <= MASTER_TIMEOUT + 1.5,
          f"every worker stopped its users within --master-timeout ({MASTER_TIMEOUT} s): last segment recorded {stopped} s after the death")
    check(max(logged_out.values()) <= MASTER_TIMEOUT + 3.5,
          f"their exit upload pass done, the first logout came {logged_out} s after the death")
    check(max(took.values()) <= MASTER_TIMEOUT + 7, f"and exited within --master-timeout + the exit pass + --stop-timeout: {took}")
    figures["users_stopped_after_master_death_s"] = stopped
    figures["exit_after_master_death_s"] = took


def act3_audit(srv):
    log_file = os.path.join(srv, "logs", "gunicorn_error.log")
    ledgers = {w: ids_of(os.path.join(OUT, f"{w}.ledger")) for w in ("w1", "w2", "w3", "w3b")}
    names = sorted(ledgers)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            check(not ledgers[a] & ledgers[b], f"{a} and {b} never held the same ID")
    check(ledgers["w3b"] and min(map(number, ledgers["w3b"])) > USERS,
          f"the replacement worker took fresh IDs above the population ({sorted(ledgers['w3b'])[:3]}…)")
    # The master's locustfile numbers moved users from the top of the
    # population: w3's 20 users moved to w1 and w2 took exactly 61..80,
    # the replacement's 20 the next 20.
    moved = sorted(n for w in ("w1", "w2") for n in map(number, ledgers[w]) if n > USERS)
    check(moved == list(range(USERS + 1, USERS + 21)), f"the 20 moved users took {USERS + 1}..{USERS + 20}: {moved}")
    check(sorted(map(number, ledgers["w3b"])) == list(range(USERS + 21, USERS + 41)),
          f"the replacement worker took the next 20: {sorted(ledgers['w3b'])}")
    code, ids = verify_json(["ids", "--log", log_file])
    check(ids["summary"]["duplicated_ids"] == 0, f"no ID logged in twice on the fresh server ({ids['summary']})")
    dead_block = {i for i in ids_of(os.path.join(OUT, "w3.ledger")) if number(i) <= USERS}
    server_ids = {x["id"] for x in ids["logins"]}
    dead = dead_block & server_ids
    check(len(dead) == 20, f"w3's 20 students logged in on the fresh server: {sorted(dead)}")
    code, gate = verify_json(["gate", "--log", log_file, "--dir", os.path.join(srv, "server_data"), "--expect-segments", "12"])
    short = sorted(s["id"] for s in gate["seq"]["students"] if s.get("short"))
    check(code == 1 and gate["failed_on"] == ["seq:short"], f"the gate fails on short students only ({gate['failed_on']})")
    check(short == sorted(dead), f"the gate names exactly the dead worker's students as short: {short}")


procs_by_name = {}


def main():
    os.makedirs(OUT, exist_ok=True)
    t0 = time.monotonic()
    srv1, url1 = server_up("server1", 5000)
    locust = os.path.join(os.environ["LOCUST_VENV"], "bin", "locust")
    # The users' guide's own master command, with the bundle's locustfile: its
    # web UI, default ports, no --expect-workers (the web UI ignores it).
    procs_by_name["master"] = start("master", [
        locust, "-f", os.path.join(BUNDLE, "locust", "locustfile.py"), "--master", "--web-host", "0.0.0.0",
        "--enable-rebalancing", "--host", url1,
    ])
    until("the web UI answers", lambda: "locust" in http("GET", "/").lower(), 30)
    for i in (1, 2, 3):
        procs_by_name[f"w{i}"] = worker(f"w{i}", f"w{i}")
    until("3 workers ready", lambda: len([w for w in stats().get("workers", []) if w["state"] == "ready"]) == 3, 60)
    log("act 1: 60 users over 3 workers")
    log_file = act1(url1, srv1)
    log("act 2: a new swarm on the same master")
    act2(url1, log_file)
    server_down(srv1)
    srv3, url3 = server_up("server3", 5001)
    log("act 3: a worker machine dies and comes back (fresh server)")
    act3(url3, srv3)
    log("act 4: the master dies")
    act4()
    server_down(srv3)
    act3_audit(srv3)
    figures["lab_seconds"] = round(time.monotonic() - t0)
    figures["users"] = USERS
    with open(os.path.join(OUT, "figures.json"), "w", encoding="utf-8") as f:
        json.dump(figures, f, indent=1)
    log(f"PASS in {figures['lab_seconds']} s; figures: {json.dumps(figures)}")


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
