"""Live ceremonies at full-room scale: a 60-person retro and 30 stand-up boards at once, against a real server.

    .venv/bin/python -m bench.live                          # both servers, both workloads
    .venv/bin/python -m bench.live --server sqlite --workload retro --members 12
    .venv/bin/python -m bench.live --app-dir /work/main     # the same load against another checkout

The benchmark starts the server itself, from ``--app-dir`` (default: this checkout):

- ``sqlite``: ``flask run`` as ``make run`` does (``db upgrade``, ``demo load``, the in-process scheduler) on a
  fresh SQLite file;
- ``pg``: gunicorn with 4 workers (``PODIUM_ENV=production``, as the README deploys it) on a throw-away PostgreSQL database it creates (and drops) on
  ``--pg`` and Redis on ``--redis``.

Retro: a coach and ``--members`` people of one new pod sign in; the coach opens a retro (5 votes each, at most 3
on one item, totals hidden); everyone writes ``--cards`` cards in reflect, then, once their page shows the vote
phase, everyone spends the whole budget at once and tries one vote more (which must be refused); the coach moves
the phases on; every page polls every 2 s the way the browser does (the poll address is read from the page;
a 200 answer brings the next one, an HX-Refresh reloads the page). Afterwards the database is checked for lost
or phantom cards and for every budget. Then the unchanged check and ``/healthz`` are each driven flat out for a
few seconds by 8 connections, for their ratio of requests per second.

Stand-ups: ``--boards`` pods of ``--per-board`` people open today's board and poll it every 2 s while entries
arrive at ``--writes`` per second per board, for ``--seconds``.

Printed: per request type the count, p50, p95 and worst latency and errors; server CPU (the server's processes
and, on PostgreSQL, the backends of the bench database, from /proc) and writes per CPU-second; the load average.
"""

from __future__ import annotations

import argparse
import heapq
import html
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import time as time_of_day
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-live-password"
POLL_SECONDS = 2.0
CLK = os.sysconf("SC_CLK_TCK")

POLL_ATTR = re.compile(r'hx-get="([^"]+)" hx-trigger="every 2s')
ITEM = re.compile(r'name="item" value="((?:card|group)-[0-9]+)"')
CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')
NEW_PHASE = re.compile(r'id="retro-board"[^>]* data-phase="([a-z]+)"')


# --- a small HTTP client with a cookie jar ---------------------------------------------------------------


class Client:
    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.csrf = ""

    def clone(self) -> Client:
        other = Client(self.port)
        other.cookies = self.cookies  # the same person: the same session (a second connection, as a browser)
        other.csrf = self.csrf
        return other

    def request(self, method: str, path: str, data: dict | None = None, htmx: bool = False):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if method == "POST" and self.csrf:
            headers["X-CSRFToken"] = self.csrf
        if htmx:
            headers["HX-Request"] = "true"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (
                http.client.RemoteDisconnected,
                ConnectionResetError,
                BrokenPipeError,
                http.client.CannotSendRequest,
                http.client.ResponseNotReady,
            ):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie = value.split(";", 1)[0]
                key, _sep, val = cookie.partition("=")
                if val:
                    self.cookies[key.strip()] = val.strip()
                else:
                    self.cookies.pop(key.strip(), None)
        headers_out = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers_out, payload.decode("utf-8", "replace")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: dict[str, str] = {}

    def timed(self, kind: str, client: Client, method: str, path: str, data=None, htmx=False, ok=(200, 204, 302)):
        started = time.perf_counter()
        try:
            status, headers, body = client.request(method, path, data, htmx)
        except Exception as exc:  # noqa: BLE001 - counted and shown
            with self.lock:
                self.errors[kind] += 1
                self.samples.setdefault(kind, repr(exc))
            return None, {}, ""
        elapsed = time.perf_counter() - started
        with self.lock:
            self.times[kind].append(elapsed)
            if status not in ok:
                self.errors[kind] += 1
                self.samples.setdefault(kind, f"{status} {body[:200]!r}")
        return status, headers, body

    def table(self) -> list[str]:
        lines = [f"  {'request':<22}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'errors':>8}"]
        for kind in sorted(self.times):
            values = sorted(self.times[kind])
            p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
            lines.append(
                f"  {kind:<22}{len(values):>6}{statistics.median(values) * 1000:>9.1f}"
                f"{p95 * 1000:>9.1f}{values[-1] * 1000:>9.1f}{self.errors.get(kind, 0):>8}"
            )
        for kind, sample in self.samples.items():
            lines.append(f"  first {kind} error: {sample}")
        return lines

    def p95(self, kind: str) -> float | None:
        values = sorted(self.times.get(kind, []))
        if not values:
            return None
        return values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


# --- pollers: a pool of workers runs every page's poll on time ----------------------------------------------


class Page:
    """One open browser page: its poll address, the last board HTML it holds, its phase."""

    def __init__(self, client: Client, path: str, html_text: str):
        self.client = client
        self.path = path
        self.lock = threading.Lock()
        self.html = html_text
        self.poll = _poll_of(html_text)
        self.generation = 0

    def absorb(self, body: str) -> None:
        with self.lock:
            poll = _poll_of(body)
            if poll:
                self.poll = poll
            if "retro-board" in body or "board-live" in body:
                self.html = body
                self.generation += 1


def _poll_of(text: str) -> str | None:
    match = POLL_ATTR.search(text)
    return html.unescape(match.group(1)) if match else None


class Pollers:
    def __init__(self, stats: Stats, workers: int = 16):
        self.stats = stats
        self.heap: list = []
        self.cv = threading.Condition()
        self.stopped = False
        self.counter = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]
        for thread in self.threads:
            thread.start()

    def add(self, page: Page) -> None:
        with self.cv:
            self.counter += 1
            heapq.heappush(self.heap, (time.monotonic() + random.uniform(0, POLL_SECONDS), self.counter, page))
            self.cv.notify()

    def stop(self) -> None:
        with self.cv:
            self.stopped = True
            self.cv.notify_all()
        for thread in self.threads:
            thread.join(30)

    def _run(self) -> None:
        while True:
            with self.cv:
                while not self.stopped and (not self.heap or self.heap[0][0] > time.monotonic()):
                    self.cv.wait(max(0.0, self.heap[0][0] - time.monotonic()) if self.heap else 1.0)
                if self.stopped:
                    return
                _due, _n, page = heapq.heappop(self.heap)
            self._poll(page)
            with self.cv:
                self.counter += 1
                heapq.heappush(self.heap, (time.monotonic() + POLL_SECONDS, self.counter, page))
                self.cv.notify()

    def _poll(self, page: Page) -> None:
        if not page.poll:
            return
        started = time.perf_counter()
        try:
            status, headers, body = page.client.request("GET", page.poll, htmx=True)
        except Exception as exc:  # noqa: BLE001
            with self.stats.lock:
                self.stats.errors["poll"] += 1
                self.stats.samples.setdefault("poll", repr(exc))
            return
        elapsed = time.perf_counter() - started
        kind = "poll 204" if status == 204 and "hx-refresh" not in headers else "poll changed"
        phase = None
        if status == 200 and 'id="retro-live"' in body:
            kind = "poll new phase"  # the whole live area after a phase change: 60 pages ask at once
            found = NEW_PHASE.search(body)
            phase = found.group(1) if found else "?"
        with self.stats.lock:
            self.stats.times[kind].append(elapsed)
            if phase:  # and apart by the phase it brings (each is its own burst)
                self.stats.times[f"poll new phase: {phase}"].append(elapsed)
            if status not in (200, 204):
                self.stats.errors[kind] += 1
                self.stats.samples.setdefault(kind, f"{status} {body[:200]!r}")
        if headers.get("hx-refresh") == "true":  # the page reloads (the way before in-place updates)
            status, _h, body = self.stats.timed("page (reload)", page.client, "GET", page.path)
            if status == 200:
                page.absorb(body)
        elif status == 200:
            page.absorb(body)


# --- the server ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# With --meter the server runs this wrapper: each request's CPU time (the worker thread's, so neither the database
# nor other requests) is added up by method, path shape and status, and written where the benchmark reads it.
METER = r"""
import json, os, re, time
from wsgi import app

_DIGITS = re.compile(r"[0-9]+")
_OUT = os.environ["BENCH_METER_DIR"]
_totals = {}
_last = [0.0]


class _Meter:
    def __init__(self, inner):
        self.inner = inner

    def __call__(self, environ, start_response):
        status = ["?"]

        def start(code, headers, *rest):
            status[0] = code.split(" ", 1)[0]
            size = next((v for k, v in headers if k.lower() == "content-length"), "")
            if status[0] == "200" and size.isdigit():  # a fragment or a whole board
                status[0] += " <8 KB" if int(size) < 8192 else " >=8 KB"
            return start_response(code, headers, *rest)

        started = time.thread_time()
        try:
            return self.inner(environ, start)
        finally:
            key = f"{environ.get('REQUEST_METHOD')} {_DIGITS.sub('N', environ.get('PATH_INFO', ''))} {status[0]}"
            total = _totals.setdefault(key, [0, 0.0])
            total[0] += 1
            total[1] += time.thread_time() - started
            now = time.monotonic()
            if now - _last[0] > 0.2:
                _last[0] = now
                with open(os.path.join(_OUT, f"meter-{os.getpid()}.json.tmp"), "w") as out:
                    json.dump(_totals, out)
                os.replace(os.path.join(_OUT, f"meter-{os.getpid()}.json.tmp"),
                          os.path.join(_OUT, f"meter-{os.getpid()}.json"))


app.wsgi_app = _Meter(app.wsgi_app)
"""


def meter_read(folder: Path) -> dict[str, list]:
    """The meter's totals over all server processes: {"POST /retros/N/votes 200": [requests, CPU seconds]}."""
    totals: dict[str, list] = defaultdict(lambda: [0, 0.0])
    for path in folder.glob("meter-*.json"):
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for key, (count, cpu) in found.items():
            totals[key][0] += count
            totals[key][1] += cpu
    return dict(totals)


def meter_table(before: dict, after: dict) -> list[str]:
    rows = []
    for key, (count, cpu) in after.items():
        count0, cpu0 = before.get(key, (0, 0.0))
        if count > count0:
            rows.append((cpu - cpu0, count - count0, key))
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows) or 1.0
    lines = [f"  {'CPU by request (worker threads)':<44}{'n':>6}{'CPU s':>8}{'share':>7}{'ms each':>9}"]
    for cpu, count, key in rows:
        lines.append(f"  {key[:44]:<44}{count:>6}{cpu:>8.2f}{cpu / total:>7.0%}{cpu * 1000 / count:>9.2f}")
    return lines


class Server:
    def __init__(
        self, kind: str, app_dir: Path, pg: str, redis: str, threads: int = 1, meter: bool = False, workers: int = 4
    ):
        self.kind, self.app_dir, self.pg, self.redis, self.threads = kind, app_dir, pg, redis, threads
        self.workers = workers
        self.meter = meter
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
        self.port = _free_port()
        self.db_name = None
        if kind == "sqlite":
            self.url = f"sqlite:///{self.tmp / 'podium.db'}"
        else:
            self.db_name = f"bench_live_{uuid.uuid4().hex[:8]}"
            self._admin(f'CREATE DATABASE "{self.db_name}"')
            self.url = f"{pg.rsplit('/', 1)[0]}/{self.db_name}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "SECRET_KEY": "bench-live-secret-" + uuid.uuid4().hex,
            "RATELIMIT_ENABLED": "0",
            "SCHEDULER_LOCK_FILE": str(self.tmp / "scheduler.lock"),
            "PYTHONPATH": str(app_dir),
            "PODIUM_ENV": "development",
        }
        self.env.pop("REDIS_URL", None)
        if kind == "sqlite":
            self.env["SHOW_DEMO_ACCOUNTS"] = "1"
        else:  # as the README deploys it: the production configuration (no debug mode, no template reloading)
            self.env["REDIS_URL"] = redis
            self.env["PODIUM_ENV"] = "production"
            self.env["SESSION_COOKIE_SECURE"] = "0"  # the benchmark speaks plain HTTP to 127.0.0.1
        self.proc = None

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.pg.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute(sql)

    def flask(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=self.app_dir,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def python(self, code: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=self.app_dir,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def start(self, demo: bool = True) -> None:
        started = time.perf_counter()
        self.flask("db", "upgrade")
        if demo:
            self.flask("demo", "load")
        print(f"  database ready ({self.kind}, demo loaded) in {time.perf_counter() - started:.0f} s", flush=True)
        env = dict(self.env)
        target = "wsgi"
        if self.meter:
            (self.tmp / "bench_meter.py").write_text(METER)
            env["PYTHONPATH"] = f"{self.app_dir}{os.pathsep}{self.tmp}"
            env["BENCH_METER_DIR"] = str(self.tmp)
            target = "bench_meter"
        if self.kind == "sqlite":  # as `make run`: the scheduler runs in the server process only
            env["SCHEDULER_IN_PROCESS"] = "1"
            command = [
                sys.executable,
                "-m",
                "flask",
                "--app",
                target,
                "run",
                "--no-reload",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ]
        else:
            command = [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(self.workers),
                *(["-k", "gthread", "--threads", str(self.threads)] if self.threads > 1 else []),
                "-b",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                f"{target}:app",
            ]
        self.log = open(self.tmp / "server.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            command, cwd=self.app_dir, env=env, stdout=self.log, stderr=self.log, start_new_session=True
        )
        for _ in range(300):
            try:
                status, _h, _b = Client(self.port).request("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the server did not start; see {self.tmp / 'server.log'}")

    def pids(self) -> list[int]:
        """The server's processes (gunicorn's master and workers, or flask run)."""
        found = [self.proc.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    found.append(int(entry.name))
        return found

    def db_pids(self) -> list[int]:
        if self.kind != "pg":
            return []
        import psycopg

        with psycopg.connect(self.pg.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            return [
                row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db_name,))
            ]

    def cpu(self) -> dict[int, float]:
        out = {}
        for pid in self.pids() + [-p for p in self.db_pids()]:
            try:
                fields = Path(f"/proc/{abs(pid)}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / CLK
        return out

    def redis_cpu(self) -> float:
        """CPU seconds of the local redis-server process so far (the whole server: other users of it count too)."""
        if self.kind != "pg":
            return 0.0
        total = 0.0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() != "redis-server":
                        continue
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += (int(fields[11]) + int(fields[12])) / CLK
        return total

    def wakeups(self) -> dict[int, int]:
        """Voluntary context switches (a process going to sleep, to be woken later) of the same processes as cpu():
        each one costs more on an idle virtual CPU than on a busy one (see report_retro)."""
        out = {}
        for pid in self.pids() + [-p for p in self.db_pids()]:
            try:
                status = Path(f"/proc/{abs(pid)}/status").read_text()
            except OSError:
                continue
            found = re.search(r"^voluntary_ctxt_switches:\s+([0-9]+)", status, re.M)
            if found:
                out[pid] = int(found.group(1))
        return out

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.log.close()
        if self.db_name:
            self._admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.db_name}'")
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}"')
        shutil.rmtree(self.tmp, ignore_errors=True)


def cpu_between(before: dict[int, float], after: dict[int, float]) -> tuple[float, float]:
    """(app, database) CPU seconds used between two samples (database backends are negative pids)."""
    app = sum(v - before.get(k, 0.0) for k, v in after.items() if k > 0)
    database = sum(v - before.get(k, 0.0) for k, v in after.items() if k < 0)
    return app, database


# --- setting up people (in the server's own code, so an older checkout gets its own models) -----------------

SETUP = r"""
import json, sys
from datetime import date, time
from werkzeug.security import generate_password_hash
import app.org.models as org_models
org_models.generate_password_hash = lambda p, method=None: generate_password_hash(p, method="pbkdf2:sha256:1000")
from app import create_app
from app.extensions import db
from app.org import services as org
spec = json.loads(sys.argv[1])
app = create_app()
out = []
with app.app_context():
    for p in range(spec["pods"]):
        tag = spec["tag"] + f"-{p}"
        coach = org.create_user(None, email=f"coach-{tag}@bench.test", display_name=f"Coach {tag}", role="coach",
                                password=spec["password"])
        pod = org.save_pod(None, None, name=f"Bench pod {tag}", mission="Serve customers end to end",
                           timezone="UTC", standup_time=time(0, 5), working_days="1234567")
        org.set_pod_coaches(None, pod, [coach])
        members = []
        for i in range(spec["members"]):
            user = org.create_user(None, email=f"m{i}-{tag}@bench.test", display_name=f"Member {i} {tag}",
                                   role="agent", password=spec["password"])
            org.add_member(None, pod, user, start=date(2020, 1, 1))
            db.session.commit()  # short write transactions: the server's own scheduler writes meanwhile
            members.append(user.email)
        db.session.commit()
        out.append({"pod_id": pod.id, "coach": coach.email, "members": members})
print(json.dumps(out))
"""


def sign_in(port: int, email: str, stats: Stats) -> Client:
    client = Client(port)
    status, _h, page = stats.timed("sign-in", client, "GET", "/login")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"email": email, "password": PASSWORD}
    if match:
        data["csrf_token"] = html.unescape(match.group(1))
    status, _h, _b = stats.timed("sign-in", client, "POST", "/login", data)
    if status not in (302, 303):
        raise SystemExit(f"sign-in of {email} failed: {status}")
    _s, _h, home = client.request("GET", "/")
    token = CSRF.search(home)
    client.csrf = html.unescape(token.group(1)) if token else ""
    return client


def sign_in_all(port: int, emails: list[str], stats: Stats) -> dict[str, Client]:
    clients: dict[str, Client] = {}
    lock = threading.Lock()
    queue = list(emails)

    def work():
        while True:
            with lock:
                if not queue:
                    return
                email = queue.pop()
            client = sign_in(port, email, stats)
            with lock:
                clients[email] = client

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return clients


# --- the retro workload -------------------------------------------------------------------------------------


def run_retro(server: Server, members: int, cards: int) -> dict:
    stats = Stats()
    spec = {"tag": uuid.uuid4().hex[:6], "pods": 1, "members": members, "password": PASSWORD}
    team = json.loads(server.python(SETUP, json.dumps(spec)).strip().splitlines()[-1])[0]
    clients = sign_in_all(server.port, [team["coach"], *team["members"]], stats)
    coach = clients[team["coach"]]
    people = [clients[e] for e in team["members"]]
    status, headers, _b = stats.timed(
        "open retro",
        coach,
        "POST",
        f"/pods/{team['pod_id']}/retros",
        {
            "title": "Bench retro",
            "template": "start_stop_continue",
            "facilitator_id": "",
            "anonymous": "y",
            "votes_per_person": "5",
            "max_votes_per_item": "3",
            "hide_votes": "y",
            "grouping": "everyone",
        },
    )
    retro_path = headers.get("location", "")
    retro_path = "/" + retro_path.split("/", 3)[3] if retro_path.startswith("http") else retro_path
    retro_id = int(retro_path.rstrip("/").rsplit("/", 1)[1])
    phase = ["checkin"]

    def advance():
        status, _h, _b = stats.timed("advance", coach, "POST", f"{retro_path}/advance", {"phase": phase[0]}, htmx=True)
        order = ["checkin", "review", "reflect", "group", "vote", "discuss", "closed"]
        phase[0] = order[order.index(phase[0]) + 1]

    advance()
    advance()  # reflect
    pages = []
    for client in people:
        _s, _h, body = stats.timed("page", client, "GET", retro_path)
        pages.append(Page(client.clone(), retro_path, body))
    pollers = Pollers(stats)
    for page in pages:
        pollers.add(page)

    written: dict[int, int] = defaultdict(int)
    cpu0, wake0, redis0 = server.cpu(), server.wakeups(), server.redis_cpu()
    meter0 = meter_read(server.tmp)
    t0 = time.perf_counter()

    def reflect(index: int, client: Client):
        for n in range(cards):
            time.sleep(random.uniform(0.3, 2.0))
            status, _h, _b = stats.timed(
                "card",
                client,
                "POST",
                f"{retro_path}/cards",
                {
                    "column": random.choice(["start", "stop", "continue"]),
                    "text": f"Card {n} of member {index}: {uuid.uuid4().hex[:8]}",
                },
                htmx=True,
            )
            if status == 200:
                written[index] += 1

    threads = [threading.Thread(target=reflect, args=(i, c)) for i, c in enumerate(people)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reflect_seconds = time.perf_counter() - t0
    time.sleep(1)
    advance()  # group
    time.sleep(2.5)
    generations = [p.generation for p in pages]
    advance()  # vote
    t_vote = time.perf_counter()
    # Every page shows the vote phase once its poll brings it (a reload before, a swap in place after).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
        p.generation > g and "retro-vote" in p.html for p, g in zip(pages, generations, strict=True)
    ):
        time.sleep(0.1)
    shown = time.perf_counter() - t_vote
    voted: dict[int, int] = defaultdict(int)
    extra_refused = [0]
    barrier = threading.Barrier(len(people))

    def vote(index: int, client: Client, page: Page):
        with page.lock:
            items = sorted(set(ITEM.findall(page.html)))
        random.shuffle(items)
        barrier.wait(120)
        if len(items) < 6:
            with stats.lock:
                stats.errors["vote"] += 1
                stats.samples.setdefault("vote", f"the page shows {len(items)} items to vote on")
            return
        for item in items[:5]:
            status, _h, _b = stats.timed("vote", client, "POST", f"{retro_path}/votes", {"item": item}, htmx=True)
            if status == 200:
                voted[index] += 1
        status, _h, _b = stats.timed(
            "vote (6th)", client, "POST", f"{retro_path}/votes", {"item": items[5]}, htmx=True, ok=(409,)
        )
        if status == 409:
            extra_refused[0] += 1

    threads = [
        threading.Thread(target=vote, args=(i, c, p)) for i, (c, p) in enumerate(zip(people, pages, strict=True))
    ]
    t1 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    vote_seconds = time.perf_counter() - t1
    cpu1, wake1, redis1 = server.cpu(), server.wakeups(), server.redis_cpu()
    meter1 = meter_read(server.tmp)
    app_cpu, db_cpu = cpu_between(cpu0, cpu1)
    advance()  # discuss
    time.sleep(6)  # the phase change reaches everyone
    pollers.stop()

    # The unchanged check against /healthz, flat out (from a page just loaded, so its version is current).
    probe = pages[0]
    _s, _h, body = probe.client.request("GET", retro_path)
    current = _poll_of(body)
    rates = {}
    for label, path, client in (("unchanged check", current, probe.client), ("/healthz", "/healthz", None)):
        rates[label] = flat_out(server.port, path, client)
    advance()  # closed

    check = check_retro(server, retro_id, team, written, voted)
    writes = sum(written.values()) + sum(voted.values())
    return {
        "stats": stats,
        "reflect_s": reflect_seconds,
        "vote_s": vote_seconds,
        "vote_shown_s": shown,
        "app_cpu": app_cpu,
        "db_cpu": db_cpu,
        "wakeups": cpu_between(wake0, wake1),
        "redis_cpu": redis1 - redis0,
        "requests": sum(len(v) for v in stats.times.values()),
        "writes": writes,
        "extra_refused": extra_refused[0],
        "members": len(people),
        "rates": rates,
        "check": check,
        "meter": meter_table(meter0, meter1) if server.meter else [],
    }


def flat_out(port: int, path: str, client: Client | None, seconds: float = 4.0, connections: int = 8) -> float:
    counts = [0] * connections
    bad = [0]
    stop = time.monotonic() + seconds

    def work(i):
        mine = client.clone() if client else Client(port)
        while time.monotonic() < stop:
            status, _h, _b = mine.request("GET", path, htmx=True)
            if status in (200, 204):
                counts[i] += 1
            else:
                bad[0] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


CHECK = r"""
import json, sys
from sqlalchemy import func, select
from app import create_app
from app.extensions import db
from app.org.models import User
from app.retros.models import RetroCard, RetroVote, RetroVoteTally
spec = json.loads(sys.argv[1])
app = create_app()
with app.app_context():
    rid = spec["retro_id"]
    cards = db.session.scalar(select(func.count()).select_from(RetroCard).where(RetroCard.retro_id == rid))
    votes = dict(db.session.execute(select(RetroVote.user_id, func.sum(RetroVote.count))
                                    .where(RetroVote.retro_id == rid).group_by(RetroVote.user_id)).all())
    tallies = dict(db.session.execute(select(RetroVoteTally.user_id, RetroVoteTally.used)
                                      .where(RetroVoteTally.retro_id == rid)).all())
    over_cap = db.session.scalar(select(func.count()).select_from(RetroVote)
                                 .where(RetroVote.retro_id == rid, RetroVote.count > 3))
    ids = dict(db.session.execute(select(User.email, User.id).where(User.email.in_(spec["members"]))).all())
    print(json.dumps({"cards": cards, "votes": {e: int(votes.get(i) or 0) for e, i in ids.items()},
                      "tallies": {e: int(tallies.get(i) or 0) for e, i in ids.items()}, "over_cap": over_cap}))
"""


def check_retro(server: Server, retro_id: int, team: dict, written: dict, voted: dict) -> dict:
    found = json.loads(
        server.python(CHECK, json.dumps({"retro_id": retro_id, "members": team["members"]})).strip().splitlines()[-1]
    )
    problems = []
    if found["cards"] != sum(written.values()):
        problems.append(f"cards stored {found['cards']} != cards acknowledged {sum(written.values())}")
    for i, email in enumerate(team["members"]):
        if found["votes"][email] != voted[i]:
            problems.append(f"{email}: {found['votes'][email]} votes stored, {voted[i]} acknowledged")
        if found["tallies"][email] != found["votes"][email] or found["votes"][email] > 5:
            problems.append(f"{email}: budget {found['tallies'][email]} vs votes {found['votes'][email]}")
    if found["over_cap"]:
        problems.append(f"{found['over_cap']} items over the per-item cap")
    return {"problems": problems, "cards": found["cards"], "votes": sum(found["votes"].values())}


# --- the stand-up workload ----------------------------------------------------------------------------------


def run_standups(server: Server, boards: int, per_board: int, writes: float, seconds: float) -> dict:
    stats = Stats()
    spec = {"tag": uuid.uuid4().hex[:6], "pods": boards, "members": per_board, "password": PASSWORD}
    pods = json.loads(server.python(SETUP, json.dumps(spec)).strip().splitlines()[-1])
    emails = [e for pod in pods for e in pod["members"]]
    clients = sign_in_all(server.port, emails, stats)
    pollers = Pollers(stats, workers=24)
    board_pages = []
    for pod in pods:
        members = []
        for email in pod["members"]:
            client = clients[email]
            _s, _h, body = stats.timed("board page", client, "GET", f"/standups/pods/{pod['pod_id']}")
            page = Page(client.clone(), f"/standups/pods/{pod['pod_id']}", body)
            board_id = re.search(r"/standups/boards/([0-9]+)/live", body).group(1)
            members.append((client, page, board_id))
            pollers.add(page)
        board_pages.append(members)
    cpu0 = server.cpu()
    meter0 = meter_read(server.tmp)
    stop = time.monotonic() + seconds
    done = [0]

    def writer(members):
        while time.monotonic() < stop:
            time.sleep(random.expovariate(writes))
            client, _page, board_id = random.choice(members)
            status, _h, _b = stats.timed(
                "entry",
                client,
                "POST",
                f"/standups/boards/{board_id}/entry",
                {
                    "yesterday": f"Closed {random.randint(1, 40)} cases",
                    "today": "Billing queue " + uuid.uuid4().hex[:6],
                    "mood": str(random.randint(1, 5)),
                },
                htmx=True,
            )
            if status == 200:
                done[0] += 1

    threads = [threading.Thread(target=writer, args=(m,)) for m in board_pages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu1 = server.cpu()
    meter1 = meter_read(server.tmp)
    pollers.stop()
    app_cpu, db_cpu = cpu_between(cpu0, cpu1)
    return {
        "stats": stats,
        "app_cpu": app_cpu,
        "db_cpu": db_cpu,
        "writes": done[0],
        "seconds": seconds,
        "meter": meter_table(meter0, meter1) if server.meter else [],
    }


# --- where the CPU goes: one vote and one poll under cProfile, in process -----------------------------------


_PROFILE_URL: list[str] = []  # --profile --server pg: the throw-away PostgreSQL database to profile on


def _profile_app():
    """A Podium app on a throw-away SQLite file (or the PostgreSQL database in _PROFILE_URL), its tables and default
    stages made, with a fast password hash (a profile measures requests, not scrypt); returns (app, its folder)."""
    from werkzeug.security import generate_password_hash

    import app.org.models as org_models

    org_models.generate_password_hash = lambda p, method=None: generate_password_hash(p, method="pbkdf2:sha256:1000")
    from app import create_app
    from app.extensions import db
    from app.org.services import ensure_default_stages, get_organisation
    from config import Config

    tmp = Path(tempfile.mkdtemp(prefix="bench-live-profile-"))

    class ProfileConfig(Config):
        SQLALCHEMY_DATABASE_URI = _PROFILE_URL[0] if _PROFILE_URL else f"sqlite:///{tmp / 'podium.db'}"
        SCHEDULER_IN_PROCESS = False
        RATELIMIT_ENABLED = False
        WTF_CSRF_ENABLED = False

    application = create_app(ProfileConfig)
    with application.app_context():
        db.create_all()
        ensure_default_stages()
        get_organisation()
        db.session.commit()
    return application, tmp


def profile(members: int, cards: int) -> None:
    """A 60-person retro in the vote phase on a SQLite file; profiles one vote, one unchanged check and the
    check that follows another person's vote, as a signed-in member's page sends them."""
    from datetime import date
    from datetime import time as dt_time

    from app.extensions import db
    from app.org import services as org
    from app.org.models import User
    from app.retros import services as retros

    application, tmp = _profile_app()
    with application.app_context():
        coach = org.create_user(None, email="coach@profile.test", display_name="Coach", role="coach", password=PASSWORD)
        pod = org.save_pod(
            None,
            None,
            name="Profile pod",
            mission="Serve",
            timezone="UTC",
            standup_time=dt_time(9, 30),
            working_days="12345",
        )
        org.set_pod_coaches(None, pod, [coach])
        people = []
        for i in range(members):
            user = org.create_user(
                None, email=f"m{i}@profile.test", display_name=f"Member {i}", role="agent", password=PASSWORD
            )
            org.add_member(None, pod, user, start=date(2020, 1, 1))
            people.append(user)
        db.session.commit()
        retro = retros.create_retro(
            coach, pod, title="Profile", template_key="start_stop_continue", facilitator=coach, votes_per_person=50
        )  # room for the repeated votes
        db.session.commit()
        for phase in ("checkin", "review"):
            retros.advance_phase(coach, retro, phase)
            db.session.commit()
        for n in range(cards):
            for i, user in enumerate(people):
                retros.add_card(user, retro, column_key=("start", "stop", "continue")[n % 3], text=f"Card {n}.{i}")
        db.session.commit()
        retro_id, coach_id = retro.id, coach.id
        emails = [u.email for u in people[:2]]
    voter, other = application.test_client(), application.test_client()
    for client, email in ((voter, emails[0]), (other, emails[1])):
        client.post("/login", data={"email": email, "password": PASSWORD})
    htmx = {"HX-Request": "true"}
    page = voter.get(f"/retros/{retro_id}").get_data(as_text=True)
    poll = _poll_of(page)
    other.post(f"/retros/{retro_id}/cards", data={"column": "start", "text": "Warm up"}, headers=htmx)

    def after_other_card():
        other.post(f"/retros/{retro_id}/cards", data={"column": "stop", "text": "Another"}, headers=htmx)
        return lambda: voter.get(poll, headers=htmx)

    _profile_cases(
        [
            (
                "one card (reflect)",
                lambda: (
                    lambda: voter.post(
                        f"/retros/{retro_id}/cards", data={"column": "start", "text": "Profiled card"}, headers=htmx
                    )
                ),
            ),
            ("check after another person's card", after_other_card),
        ]
    )
    with application.app_context():
        retro = db.session.get(retros.Retro, retro_id)
        coach = db.session.get(User, coach_id)
        for phase in ("reflect", "group"):
            retros.advance_phase(coach, retro, phase)
            db.session.commit()
    page = voter.get(f"/retros/{retro_id}").get_data(as_text=True)
    poll = _poll_of(page)
    items = sorted(set(ITEM.findall(page)))
    other.post(f"/retros/{retro_id}/votes", data={"item": items[-1]}, headers=htmx)  # warm up
    turn = iter(range(10**6))

    def after_other_vote():
        other.post(f"/retros/{retro_id}/votes", data={"item": items[next(turn) % len(items)]}, headers=htmx)
        return lambda: voter.get(poll, headers=htmx)

    def one_vote():
        item = items[next(turn) % len(items)]
        return lambda: voter.post(f"/retros/{retro_id}/votes", data={"item": item}, headers=htmx)

    cases = [
        ("one vote", one_vote),
        ("unchanged check", lambda: lambda: voter.get(poll, headers=htmx)),
        ("check after another person's vote", after_other_vote),
        ("the whole vote page", lambda: lambda: voter.get(f"/retros/{retro_id}")),
    ]
    _profile_cases(cases)
    shutil.rmtree(tmp, ignore_errors=True)


def profile_standups(per_board: int) -> None:
    """One stand-up board of ``per_board`` people on a SQLite file; profiles one entry, the poll of another page
    after it (a young token), an unchanged poll and the poll after a blocker (the whole board)."""
    from datetime import date

    from app.extensions import db
    from app.org import services as org

    application, tmp = _profile_app()
    with application.app_context():
        pod = org.save_pod(None, None, name="Profile pod", mission="Serve", timezone="UTC",
                           standup_time=time_of_day(0, 5), working_days="1234567")
        people = []
        for i in range(per_board):
            user = org.create_user(
                None, email=f"m{i}@profile.test", display_name=f"Member {i}", role="agent", password=PASSWORD
            )
            org.add_member(None, pod, user, start=date(2020, 1, 1))
            people.append(user.email)
        db.session.commit()
        pod_id = pod.id
    writer, viewer = application.test_client(), application.test_client()
    for client, email in ((writer, people[0]), (viewer, people[1])):
        client.post("/login", data={"email": email, "password": PASSWORD})
    htmx = {"HX-Request": "true"}
    page = viewer.get(f"/standups/pods/{pod_id}").get_data(as_text=True)
    board_id = re.search(r"/standups/boards/([0-9]+)/live", page).group(1)
    turn = iter(range(10**6))

    def entry():
        return writer.post(f"/standups/boards/{board_id}/entry", headers=htmx,
                           data={"yesterday": f"Closed {next(turn)} cases", "today": "Billing queue", "mood": "3"})

    for client in (writer, viewer):  # every member has an entry, as late in a stand-up
        client.post(f"/standups/boards/{board_id}/entry", headers=htmx, data={"yesterday": "Warm up", "today": ""})

    def fresh_poll():
        return _poll_of(viewer.get(f"/standups/boards/{board_id}").get_data(as_text=True))

    def after_entry():
        poll = fresh_poll()
        entry()
        return lambda: viewer.get(poll, headers=htmx)

    def after_blocker():
        poll = fresh_poll()
        writer.post(f"/standups/boards/{board_id}/blockers", headers=htmx, data={"description": f"Tool {next(turn)}"})
        return lambda: viewer.get(poll, headers=htmx)

    def unchanged():
        poll = fresh_poll()
        return lambda: viewer.get(poll, headers=htmx)

    _profile_cases(
        [
            ("one entry", lambda: entry),
            ("poll after another person's entry", after_entry),
            ("unchanged poll", unchanged),
            ("poll after a blocker (whole board)", after_blocker),
        ]
    )
    shutil.rmtree(tmp, ignore_errors=True)


def _profile_cases(cases, repeat: int = 10) -> None:
    """Each case ``repeat`` times (the first call of a kind compiles its SQL and templates); per-call figures."""
    import cProfile
    import pstats

    for label, prepare in cases:
        # CPU time (the thread's), so waiting for the database or another process is not counted as work here.
        profiler = cProfile.Profile(time.thread_time)
        wall = 0.0
        for _ in range(repeat):
            call = prepare()
            started = time.perf_counter()
            profiler.enable()
            response = call()
            profiler.disable()
            wall += time.perf_counter() - started
        print(
            f"== {label}: {response.status_code}, {len(response.get_data())} bytes, "
            f"{wall * 1000 / repeat:.1f} ms wall per call (mean of {repeat}, profiled); CPU by part:"
        )
        stats = pstats.Stats(profiler)
        groups: dict[str, float] = defaultdict(float)
        for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
            groups[_group(filename, name)] += tottime
        total = sum(groups.values()) or 1
        print(
            "   "
            + ", ".join(
                f"{g} {t * 1000 / repeat:.1f} ms ({t / total:.0%})"
                for g, t in sorted(groups.items(), key=lambda kv: -kv[1])
                if t >= 0.0001
            )
        )
        stats.sort_stats("tottime").print_stats(8)


def _group(filename: str, name: str) -> str:
    if filename == "~":
        return (
            "database driver and C built-ins"
            if any(w in name for w in ("execute", "sqlite3", "fetch", "commit"))
            else "C built-ins"
        )
    for needle, label in (
        ("sqlalchemy", "SQLAlchemy"),
        ("jinja2", "Jinja"),
        ("templates/", "Jinja"),
        ("flask_login", "Flask-Login"),
        ("babel", "Babel"),
        ("wtforms", "WTForms"),
        ("flask_wtf", "WTForms"),
        ("itsdangerous", "itsdangerous"),
        ("werkzeug/test", "test client"),
        ("werkzeug", "Werkzeug"),
        ("flask", "Flask"),
        ("/app/", "Podium code"),
        ("psycopg", "database driver and C built-ins"),
        ("sqlite3", "database driver and C built-ins"),
    ):
        if needle in filename:
            return label
    return "other"


# --- main ---------------------------------------------------------------------------------------------------


def report_retro(result: dict) -> None:
    print("\n".join(result["stats"].table()))
    cpu = result["app_cpu"] + result["db_cpu"]
    print(
        f"  reflect {result['reflect_s']:.1f} s; vote phase shown on every page after {result['vote_shown_s']:.1f} s;"
        f" vote burst {result['vote_s']:.1f} s"
    )
    print(
        f"  server CPU over reflect + vote: app {result['app_cpu']:.1f} s + database {result['db_cpu']:.1f} s;"
        f" {result['writes']} writes -> {result['writes'] / cpu if cpu else float('nan'):.1f} writes per CPU-second"
        + (f" (Redis, not counted: {result['redis_cpu']:.2f} s, the whole shared server)" if result["redis_cpu"] else "")
    )
    # On this virtual machine a process that sleeps between requests pays for it when it runs again (an idle
    # virtual CPU is halted, and the next burst runs slower): the same code measured ~45 % more CPU per write on a
    # quiet machine than while other work kept both CPUs busy, with the same requests of each kind. Wake-ups per
    # write (a request, and each round trip to the database, puts a process to sleep) tell runs apart on that.
    app_wake, db_wake = result["wakeups"]
    print(
        f"  wake-ups (voluntary context switches) over reflect + vote: app {app_wake:.0f} + database {db_wake:.0f};"
        f" {(app_wake + db_wake) / max(1, result['writes']):.1f} per write;"
        f" requests sent over the whole run {result['requests']}"
    )
    print(
        f"  6th vote refused for {result['extra_refused']} of {result['members']}; database check: "
        f"{result['check']['cards']} cards, {result['check']['votes']} votes, "
        f"{'OK' if not result['check']['problems'] else result['check']['problems'][:5]}"
    )
    rates = result["rates"]
    print(
        f"  unchanged check {rates['unchanged check']:.0f} req/s, /healthz {rates['/healthz']:.0f} req/s,"
        f" ratio {rates['unchanged check'] / rates['/healthz']:.2f}"
    )
    if result["meter"]:
        print("\n".join(result["meter"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--workload", choices=["retro", "standups", "both"], default="both")
    parser.add_argument("--app-dir", type=Path, default=ROOT)
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--cards", type=int, default=8)
    parser.add_argument("--boards", type=int, default=30)
    parser.add_argument("--per-board", type=int, default=10)
    parser.add_argument("--writes", type=float, default=2.0, help="entries per second per stand-up board")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the stand-up workload")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each workload on the same server")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="gunicorn threads per worker (above 1: the gthread worker, which keeps connections alive)",
    )
    parser.add_argument(
        "--pg", default=os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--meter",
        action="store_true",
        help="add up each request's server CPU by method, path and status, and print where it went",
    )
    parser.add_argument("--no-demo", action="store_true", help="skip the demo data (quicker; make run loads it)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile one vote and one poll in process (with --workload standups: one entry and its polls), then stop",
    )
    args = parser.parse_args()
    if args.profile:
        database = None
        if args.server == "pg":
            import psycopg

            admin = args.pg.replace("postgresql+psycopg://", "postgresql://")
            database = f"bench_profile_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{database}"')
            _PROFILE_URL.append(f"{args.pg.rsplit('/', 1)[0]}/{database}")
        try:
            if args.workload == "standups":
                profile_standups(args.per_board)
            else:
                profile(args.members, args.cards)
        finally:
            if database:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,)
                    )
                    conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        return
    servers = ["sqlite", "pg"] if args.server == "both" else [args.server]
    for kind in servers:
        server = Server(kind, args.app_dir.resolve(), args.pg, args.redis, args.threads, args.meter, args.workers)
        threads = f", gthread x {args.threads} threads" if args.threads > 1 else ""
        label = (
            "flask run + SQLite"
            if kind == "sqlite"
            else f"gunicorn {args.workers} workers{threads} + PostgreSQL + Redis"
        )
        print(f"== {label} ({args.app_dir}) load average {os.getloadavg()[0]:.2f}", flush=True)
        try:
            server.start(demo=not args.no_demo)
            for run in range(args.repeat if args.workload in ("retro", "both") else 0):
                print(
                    f"-- retro run {run + 1}: {args.members} people, {args.cards} cards each, 5 votes each + 1"
                    f" refused; load average {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
                report_retro(run_retro(server, args.members, args.cards))
            for run in range(args.repeat if args.workload in ("standups", "both") else 0):
                print(
                    f"-- stand-ups run {run + 1}: {args.boards} boards x {args.per_board} people, {args.writes} writes/s per board,"
                    f" {args.seconds:.0f} s",
                    flush=True,
                )
                result = run_standups(server, args.boards, args.per_board, args.writes, args.seconds)
                print("\n".join(result["stats"].table()))
                cpu = result["app_cpu"] + result["db_cpu"]
                print(
                    f"  server CPU: app {result['app_cpu']:.1f} s + database {result['db_cpu']:.1f} s;"
                    f" {result['writes']} writes -> {result['writes'] / cpu if cpu else float('nan'):.1f} per CPU-s"
                )
                if result["meter"]:
                    print("\n".join(result["meter"]))
            print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
