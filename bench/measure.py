"""The measurements: HTTP against gunicorn, load with wrk, and in-process timings.

Every HTTP figure is read from the server's own headers (``bench.middleware``): server
time and SQL queries of that very response, through the real middleware and views.
"""

from __future__ import annotations

import http.client
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


# --- Processes ---------------------------------------------------------------------------------

def free_port(start: int) -> int:
    """The first loopback port from ``start`` on that nothing listens on."""
    for port in range(start, start + 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free loopback port in {start}..{start + 199}")


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, in MiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def children_of(pid: int) -> list[int]:
    try:
        return [int(child) for child in
                Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def stop(popen: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process we started (by its pid), SIGKILL if it does not go."""
    if popen.poll() is not None:
        return
    popen.send_signal(signal.SIGTERM)
    try:
        popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(timeout=10)


class Gunicorn:
    """``gunicorn portfolio.wsgi`` with the bench settings: sync workers on loopback."""

    def __init__(self, *, env: dict, port: int, workers: int, log: Path):
        self.port, self.log = port, log
        command = [str(VENV_BIN / "gunicorn"), "portfolio.wsgi:application",
                   "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                   "--worker-class", "sync", "--timeout", "600", "--log-level", "warning"]
        with log.open("ab") as out:
            self.popen = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out,
                                          stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {log}")
            try:
                status, _ = get(port, "/healthz", cookie="")
            except OSError:
                time.sleep(0.2)
                continue
            if status < 500:
                return
            time.sleep(0.2)
        stop(self.popen)
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {log}")

    def worker_peak_rss_mb(self) -> float | None:
        peaks = [peak_rss_mb(pid) for pid in children_of(self.popen.pid)]
        peaks = [peak for peak in peaks if peak is not None]
        return max(peaks) if peaks else None

    def stop(self) -> None:
        stop(self.popen)


# --- HTTP --------------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    server_ms: float
    queries: int
    latency_ms: float
    size: int


def get(port: int, path: str, *, cookie: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def timed_get(port: int, path: str, *, cookie: str) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        started = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        body = response.read()
        latency = (time.perf_counter() - started) * 1000
        timing = response.getheader("Server-Timing", "")
        match = re.search(r"dur=([\d.]+)", timing)
        return Response(status=response.status,
                        server_ms=float(match.group(1)) if match else float("nan"),
                        queries=int(response.getheader("X-Bench-Queries", "-1")),
                        latency_ms=latency, size=len(body))
    finally:
        conn.close()


@dataclass
class Endpoint:
    key: str          # stable name in the tables
    label: str
    path: str
    persona: str      # whose session requests it
    kind: str         # "page" or "api" or "baseline"


@dataclass
class Sampled:
    endpoint: Endpoint
    responses: list[Response] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(r.server_ms for r in self.responses)

    @property
    def median_latency_ms(self) -> float:
        return statistics.median(r.latency_ms for r in self.responses)

    @property
    def queries(self) -> set[int]:
        return {r.queries for r in self.responses}

    @property
    def errors(self) -> int:
        return sum(1 for r in self.responses if r.status != 200)

    @property
    def median_size(self) -> int:
        return int(statistics.median(r.size for r in self.responses))


def sample(port: int, endpoint: Endpoint, *, cookie: str, most: int = 25, least: int = 5,
           budget_s: float = 15.0, slow_ms: float = 3000.0) -> Sampled:
    """Warm up, then request until ``most`` samples or ``budget_s`` (at least ``least``).

    An endpoint slower than ``slow_ms`` gets one warm-up request and 3 samples: enough
    for a median of something that slow, and the run stays within minutes.
    """
    first = timed_get(port, endpoint.path, cookie=cookie)
    if first.server_ms > slow_ms:
        least, most = 3, 3
    else:
        timed_get(port, endpoint.path, cookie=cookie)
    result = Sampled(endpoint)
    started = time.monotonic()
    while len(result.responses) < most and (
            len(result.responses) < least or time.monotonic() - started < budget_s):
        result.responses.append(timed_get(port, endpoint.path, cookie=cookie))
    return result


def interleaved(port: int, paths: list[str], *, cookie: str, rounds: int) -> list[Sampled]:
    """Alternate the paths request by request (same server, same moment)."""
    results = [Sampled(Endpoint(path, path, path, "", "")) for path in paths]
    for path in paths:
        for _ in range(3):
            timed_get(port, path, cookie=cookie)
    for _ in range(rounds):
        for path, result in zip(paths, results, strict=True):
            result.responses.append(timed_get(port, path, cookie=cookie))
    return results


# --- Load with wrk ----------------------------------------------------------------------------

WRK_MISSING = ("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or "
               "`brew install wrk`; the load figures are skipped until then.")


@dataclass
class Load:
    path: str
    connections: int
    seconds: int
    requests_per_s: float
    requests: int
    errors: int            # non-2xx/3xx responses + socket errors
    p50_ms: float | None
    p99_ms: float | None
    output: str


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(port: int, path: str, *, cookie: str, seconds: int, connections: int,
        threads: int = 1) -> Load | None:
    if shutil.which("wrk") is None:
        return None
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
               "--timeout", "60s",
               "-H", f"Cookie: {cookie}", f"http://127.0.0.1:{port}{path}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True,
                            timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        output)
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    return Load(path=path, connections=connections, seconds=seconds, requests_per_s=rps,
                requests=total, errors=errors,
                p50_ms=_ms(p50.group(1)) if p50 else None,
                p99_ms=_ms(p99.group(1)) if p99 else None, output=output)


# --- In-process timings ------------------------------------------------------------------------

@dataclass
class Timed:
    median_ms: float
    runs: list[float]
    queries: int


def timed(action: Callable[[], object], *, runs: int = 5, rollback: bool = False) -> Timed:
    """Median wall time of ``action``; ``rollback`` undoes each run's writes."""
    class Undo(Exception):
        pass

    times, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            try:
                with transaction.atomic():
                    action()
                    elapsed = time.perf_counter() - started
                    if rollback:
                        raise Undo
            except Undo:
                pass
        times.append(elapsed * 1000)
        queries = len(captured.captured_queries)
    return Timed(median_ms=statistics.median(times), runs=times, queries=queries)


def explain_ms(sql: str, params=()) -> float:
    """PostgreSQL's own execution time of a query (EXPLAIN ANALYZE, no client transfer)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        import json

        plan = json.loads(plan)
    return float(plan[0]["Execution Time"])


def raw_read_ms(sql: str, params=(), *, runs: int = 5) -> tuple[float, int]:
    """Median time to send ``sql`` and fetch every row as tuples (psycopg, no ORM)."""
    times, count = [], 0
    connection.ensure_connection()
    for _ in range(runs):
        with connection.connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(sql, params)
            count = len(cursor.fetchall())
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), count
