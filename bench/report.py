"""The printed table and bench/RESULTS.md: each figure with its target, met or not."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

GROWTH_TARGET = 2.0
OVERHEAD_TARGET = 1.5
RANKING_TARGET = 3.0
# The worker's refresh after one initiative's edit, at the largest size (issue 22).
EDIT_REFRESH_TARGET_MS = 1000
STALL_TARGET = 1.3
TAIL_TARGET = 5.0  # p99 ÷ p50 under load
BASELINE = "minimal"  # the bench's own view: figure 3's denominator, not a page of the app
LOAD_LABELS = {"list": "Initiative list page", "dashboard": "Dashboard page",
               "api": "GET /api/v1/initiatives/", "minimal": "minimal view"}


@dataclass
class Figure:
    number: str
    name: str
    value: str
    target: str
    met: bool | None  # None: no target (reported only) or not measured

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT MET", None: "—"}[self.met]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("inf")


def figures(results: list[dict]) -> list[Figure]:
    small, large = results[0], results[-1]
    sizes = f"{large['size']:,} ÷ {small['size']:,}"
    out = []

    # 1. Query counts, identical across sizes.
    keys = list(small["http"]["endpoints"])
    varying = []
    for key in keys:
        counts = [r["http"]["endpoints"][key]["queries"] for r in results]
        if len({tuple(c) for c in counts}) > 1 or any(len(c) > 1 for c in counts):
            varying.append(f"{key} ({' / '.join('|'.join(map(str, c)) for c in counts)})")
    for name, pick in (("digest build", lambda r: r["digest"]["build"]["queries"]),
                       ("stall detection", lambda r: r["stalls"]["queries"])):
        counts = [pick(r) for r in results]
        if len(set(counts)) > 1:
            varying.append(f"{name} ({' / '.join(map(str, counts))})")
    multi = len(results) > 1
    out.append(Figure("1", "Query counts identical across sizes "
                      f"({len(keys)} endpoints, digest builder, stall detection)",
                      "identical" if not varying else "vary: " + ", ".join(varying),
                      "identical at every size", (not varying) if multi else None))

    # 2. Growth: every page and endpoint the bench requests.
    for key, endpoint in large["http"]["endpoints"].items():
        if key == BASELINE or key not in small["http"]["endpoints"]:
            continue  # the baseline, or an endpoint recorded at one size only
        first = small["http"]["endpoints"][key]["median_ms"]
        ratio = _ratio(endpoint["median_ms"], first)
        out.append(Figure("2", f"Growth of {endpoint['label']} ({sizes})",
                          f"{ratio:.2f}× ({endpoint['median_ms']:.1f} ms ÷ {first:.1f} ms)",
                          f"≤ {GROWTH_TARGET:g}", ratio <= GROWTH_TARGET if multi else None))

    # 3. Framework overhead and load.
    inter = large["http"]["interleaved"]
    ratio = _ratio(inter["api_ms"], inter["minimal_ms"])
    same = "" if inter.get("same_rows") else " (the two returned DIFFERENT rows)"
    out.append(Figure("3", f"API list ÷ minimal view, server time, interleaved "
                      f"({large['size']:,}){same}",
                      f"{ratio:.2f}× ({inter['api_ms']:.1f} ms ÷ {inter['minimal_ms']:.1f} ms)",
                      f"≤ {OVERHEAD_TARGET:g}", ratio <= OVERHEAD_TARGET))
    for result in results[:-1]:
        other = result["http"]["interleaved"]
        out.append(Figure("3", f"  same at {result['size']:,}",
                          f"{_ratio(other['api_ms'], other['minimal_ms']):.2f}×",
                          "(reported)", None))
    latency = _ratio(inter["api_latency_ms"], inter["minimal_latency_ms"])
    out.append(Figure("3", "  same, client-side latency",
                      f"{latency:.2f}× ({inter['api_latency_ms']:.1f} ms ÷ "
                      f"{inter['minimal_latency_ms']:.1f} ms)", "(reported)", None))
    for key, label in LOAD_LABELS.items():
        if key not in large["http"]["load"]:
            continue  # results recorded before this path was loaded
        load = large["http"]["load"][key]
        if load is None:
            out.append(Figure("3", f"Load: {label}", "wrk not installed",
                              f"0 errors, p99 ÷ p50 ≤ {TAIL_TARGET:g}", None))
            continue
        tail = _ratio(load["p99_ms"] or 0, load["p50_ms"] or 0)
        out.append(Figure("3", f"Load: {label}, wrk {load.get('connections', '?')} "
                          f"connections, {load['requests']:,} requests",
                          f"{load['requests_per_s']:.0f} req/s, {load['errors']} errors, "
                          f"p99 ÷ p50 {tail:.2f} ({load['p99_ms']:.1f} ms ÷ "
                          f"{load['p50_ms']:.1f} ms)",
                          f"0 errors, p99 ÷ p50 ≤ {TAIL_TARGET:g}",
                          load["requests"] > 0 and load["errors"] == 0
                          and tail <= TAIL_TARGET))

    # 4. Ranking versus reading the rows.
    ranking = large["ranking"]
    ratio = _ratio(ranking["rank_ms"], ranking["read_ms"])
    out.append(Figure("4", f"Ranking {ranking['rows']:,} initiatives ÷ PostgreSQL reading "
                      "them", f"{ratio:.2f}× ({ranking['rank_ms']:.0f} ms ÷ "
                      f"{ranking['read_ms']:.0f} ms)", f"≤ {RANKING_TARGET:g}",
                      ratio <= RANKING_TARGET))
    if "edit_refresh_ms" in ranking:
        out.append(Figure(
            "4", "Standings refresh after one initiative's edit (worker, in process; "
            f"{large['size']:,} initiatives)",
            f"{ranking['edit_refresh_ms']:.0f} ms, {ranking['edit_refresh_queries']} queries, "
            f"{ranking['edit_refresh_moved']:,} ranks moved",
            f"≤ {EDIT_REFRESH_TARGET_MS:,} ms",
            ranking["edit_refresh_ms"] <= EDIT_REFRESH_TARGET_MS))
    if "scenario" in small and "scenario" in large:
        cold = (small["scenario"], large["scenario"])
        ratio = _ratio(cold[1]["median_ms"], cold[0]["median_ms"])
        out.append(Figure("4", f"Scenario beside the live plan, computed on a cache miss "
                          f"({sizes})", f"{ratio:.2f}× ({cold[1]['median_ms']:.0f} ms ÷ "
                          f"{cold[0]['median_ms']:.0f} ms; {cold[1]['queries']} queries at "
                          f"{large['size']:,}, {cold[0]['queries']} at {small['size']:,})",
                          "(reported)", None))

    # 5. Stall scan.
    ratio = _ratio(large["stalls"]["median_ms"], small["stalls"]["median_ms"])
    out.append(Figure("5", f"Stall detection, 100 stalled among {sizes}",
                      f"{ratio:.2f}× ({large['stalls']['median_ms']:.1f} ms ÷ "
                      f"{small['stalls']['median_ms']:.1f} ms)", f"≤ {STALL_TARGET:g}",
                      ratio <= STALL_TARGET if multi else None))

    # 6. Digest.
    digest = large["digest"]
    for send in digest.get("send", []):
        ok = send["digests"] == send["received"] and not send["failed"]
        sending = send["total_s"] - send["build_claim_s"]
        out.append(Figure("6", f"Digest: build + send {send['digests']:,}, "
                          f"{send['workers']} worker(s)",
                          f"{send['total_s']:.1f} s in all: build + claim "
                          f"{send['build_claim_s']:.1f} s ({send['run_queries']} queries), "
                          f"sending {sending:.1f} s ({send['digests'] / sending:.0f}/s); "
                          f"{send['received']:,} received, {send['failed']} failed",
                          "all received", ok))
    if "send_queries" in digest:
        out.append(Figure("6", "Digest: queries per send (one delivery)",
                          str(digest["send_queries"]), "(reported)", None))
    build = digest["build"]
    out.append(Figure("6", f"Digest builder: {build['recipients']:,} recipients",
                      f"{build['median_ms']:.0f} ms, {build['queries']} queries",
                      "(reported)", None))

    # 7. Memory.
    rss = max((r["http"]["web_worker_peak_rss_mb"] or 0) for r in results)
    out.append(Figure("7", "Peak RSS of a gunicorn worker (any size)", f"{rss:.0f} MiB",
                      "(reported)", None))
    celery = [s["worker_peak_rss_mb"] for s in digest.get("send", [])
              if s["worker_peak_rss_mb"]]
    if celery:
        out.append(Figure("7", "Peak RSS of a Celery worker", f"{max(celery):.0f} MiB",
                          "(reported)", None))

    # 8. Notification fan-out (measured at the largest size).
    fan = large.get("fanout")
    if fan:
        out += _fan_out_figures(fan)
    return out


def _shape_name(shape: dict) -> str:
    return f"{shape['events']:,} × {shape['recipients']:,}"


def _fan_out_figures(fan: dict) -> list[Figure]:
    shapes = fan["shapes"]
    reads = [shape["reads"] for shape in shapes]
    out = [Figure("8", "Notification fan-out: queries building the outbox rows, by batch "
                  f"(events × recipients: {', '.join(_shape_name(s) for s in shapes)})",
                  " / ".join(map(str, reads)) + " reads; statements in all "
                  + " / ".join(str(s["queries"]) for s in shapes)
                  + " (one INSERT of every row on PostgreSQL)",
                  "reads identical for every batch", len(set(reads)) == 1)]
    for shape in shapes:
        expected = shape["events"] * shape["recipients"]
        label = f"Fan-out {_shape_name(shape)}"
        out.append(Figure(
            "8", label + (" (one batch, `activities_record`)" if expected == fan["n"] ** 2
                          else ""),
            f"{shape['median_ms'] / 1000:,.2f} s, {shape['outbox_rows']:,} outbox rows, "
            f"{shape['queries']} queries ({shape['inserts']} inserts; "
            f"{shape['outbox_insert_ms'] / 1000:,.1f} s in the outbox inserts)"
            + (f", peak RSS {shape['peak_rss_mb']:,.0f} MiB" if shape.get("peak_rss_mb")
               else ""),
            f"{expected:,} rows (one per event and person)", shape["outbox_rows"] == expected))
    return out


def _endpoint_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    for key, first in results[0]["http"]["endpoints"].items():
        row = [first["label"]]
        for result in results:
            e = result["http"]["endpoints"][key]
            queries = "/".join(str(q) for q in e["queries"])
            row.append(f"{queries} q, {e['median_ms']:.1f} ms, {e['bytes'] / 1024:.0f} KiB"
                       + (f" ({e['errors']} err)" if e["errors"] else ""))
        rows.append(row)
    for label, pick in (
            ("Digest builder (in process)",
             lambda r: f"{r['digest']['build']['queries']} q, "
                       f"{r['digest']['build']['median_ms']:.0f} ms"),
            ("Stall detection (in process)",
             lambda r: f"{r['stalls']['queries']} q, {r['stalls']['median_ms']:.1f} ms"),
            ("Ranking (in process)", lambda r: f"{r['ranking']['rank_queries']} q, "
                                               f"{r['ranking']['rank_ms']:.0f} ms"),
            ("Standings recomputed (worker, in process)",
             lambda r: f"{r['ranking']['assembly_queries']} q, "
                       f"{r['ranking']['assembly_ms'] / 1000:.1f} s"),
            ("Standings refresh after one initiative's edit (worker, in process)",
             lambda r: f"{r['ranking']['edit_refresh_queries']} q, "
                       f"{r['ranking']['edit_refresh_ms']:.0f} ms"
                       if "edit_refresh_ms" in r["ranking"] else "—"),
            ("Scenario computed, cache miss (in process)",
             lambda r: f"{r['scenario']['queries']} q, {r['scenario']['median_ms']:.0f} ms"
                       if "scenario" in r else "—")):
        rows.append([label, *[pick(r) for r in results]])
    return rows


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([line.format(*header), line.format(*["-" * w for w in widths]),
                      *[line.format(*row) for row in rows]])


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def esc(cell):
        return str(cell).replace("|", "\\|")
    return "\n".join(["| " + " | ".join(header) + " |",
                      "|" + "|".join("---" for _ in header) + "|",
                      *["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]])


def table(results: list[dict]) -> str:
    header = ["endpoint", *[f"{r['size']:,}" for r in results]]
    parts = [_text_table(header, _endpoint_rows(results)), ""]
    parts.append(_text_table(["#", "figure", "value", "target", "verdict"],
                             [[f.number, f.name, f.value, f.target, f.verdict]
                              for f in figures(results)]))
    return "\n".join(parts)


# --- The machine -------------------------------------------------------------------------------

def _first(pattern: str, text: str, default: str = "?") -> str:
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1).strip() if match else default


def machine(env: dict) -> list[tuple[str, str]]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    os_release = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
    memory_gib = int(_first(r"^MemTotal:\s+(\d+)", meminfo, "0")) / 1024 / 1024
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    try:
        import redis

        client = redis.Redis.from_url(env["REDIS_URL"])
        redis_version = client.info("server")["redis_version"]
        client.close()
    except Exception as error:  # noqa: BLE001 (shown in the report)
        redis_version = f"unknown ({error})"
    wrk_version = "not installed"
    if shutil.which("wrk"):
        run = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        wrk_version = _first(r"^(wrk \S+)", run.stdout + run.stderr)
    packages = ", ".join(f"{name} {version(name)}" for name in (
        "Django", "djangorestframework", "psycopg", "gunicorn", "celery", "redis", "aiosmtpd"))
    cpu = _first(r"^model name\s*:(.*)$", cpuinfo)
    system = _first(r'^PRETTY_NAME="?([^"\n]*)', os_release)
    return [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB RAM"),
        ("OS", f"{system} ({platform.machine()})"),
        ("Python", platform.python_version()),
        ("packages", packages),
        ("PostgreSQL", f"{postgres} (default configuration)"),
        ("Redis", redis_version),
        ("load tool", wrk_version),
    ]


def markdown(run: dict) -> str:
    from bench.seed import STALLED_PILOTS, TPMS

    results, elapsed_s = run["sizes"], run["elapsed_s"]

    lines = ["# Benchmark results", "",
             "Written by `make bench` (bench/run.py); see bench/README.md for what each "
             "figure means and how it is measured. Re-run to refresh.", ""]
    lines += [f"- **{key}**: {value}" for key, value in run["machine"]]
    sizes = ", ".join(f"{r['size']:,}" for r in results)
    lines += [f"- **run**: sizes {sizes}; "
              f"{elapsed_s / 60:.1f} minutes in all; gunicorn "
              f"sync workers on 127.0.0.1; {STALLED_PILOTS} stalled pilots and {TPMS:,} "
              "TPMs at every size", ""]
    lines += ["## Figures against their targets", "",
              _md_table(["#", "figure", "value", "target", "verdict"],
                        [[f.number, f.name, f.value, f.target, f"**{f.verdict}**"
                          if f.met is False else f.verdict] for f in figures(results)]), ""]
    lines += ["## Queries and median server time per request, by portfolio size", "",
              "Server time is the `Server-Timing` the bench middleware adds (all of Django's "
              "work for the request, sessions and authentication included); `q` is the "
              "number of SQL queries of that response, KiB the size of its body.", "",
              _md_table(["endpoint", *[f"{r['size']:,} initiatives" for r in results]],
                        _endpoint_rows(results)), ""]
    lines += ["## Seeded rows", "",
              _md_table(["table", *[f"{r['size']:,}" for r in results]],
                        [[table, *[f"{r['seed']['rows'].get(table, 0):,}" for r in results]]
                         for table in results[-1]["seed"]["rows"]]
                        + [["seconds to seed", *[f"{r['seed']['seconds']:.0f}"
                                                 for r in results]]]), ""]
    ranking = results[-1]["ranking"]
    lines += ["## Ranking detail (largest size)", "",
              f"- the app's ranking (`scoring.standings.portfolio_ranking`: ranked in SQL, "
              f"rows of the columns the funding line reads): {ranking['rank_ms']:.0f} ms",
              f"- PostgreSQL reading the same rows' scoring columns, fetched as tuples: "
              f"{ranking['read_ms']:.0f} ms (server alone: {ranking['read_server_ms']:.0f} ms)",
              f"- the ranking's own SQL fetched as tuples: {ranking['rank_sql_fetch_ms']:.0f} ms "
              f"(server alone: {ranking['rank_sql_server_ms']:.0f} ms)",
              f"- computing and storing the standings the dashboard and `/api/v1/ranking/` "
              f"read (`scoring.standings.standings_refresh`: ranking, funding line, "
              f"blockers, KPI flags; the worker's job after a change): "
              f"{ranking['assembly_ms'] / 1000:.1f} s, {ranking['assembly_queries']} queries",
              ""]
    loads = results[-1]["http"]["load"]
    if any(loads.values()):
        lines += ["## Load (largest size)", "",
                  "wrk against gunicorn (sync workers, as above), each path as its persona.",
                  "",
                  _md_table(["path", "connections", "seconds", "req/s", "requests", "errors",
                             "p50", "p99", "p99 ÷ p50"],
                            [[load["path"], str(load.get("connections", "?")),
                              str(load.get("seconds", "?")),
                              f"{load['requests_per_s']:.0f}",
                              f"{load['requests']:,}", str(load["errors"]),
                              f"{load['p50_ms']:.1f} ms", f"{load['p99_ms']:.1f} ms",
                              f"{_ratio(load['p99_ms'], load['p50_ms']):.2f}"]
                             for load in loads.values() if load]), ""]
    lines += ["## Peak memory", "",
              _md_table(["size", "gunicorn worker peak RSS (VmHWM)"],
                        [[f"{r['size']:,}", f"{r['http']['web_worker_peak_rss_mb'] or 0:.0f} MiB"]
                         for r in results]), ""]
    fan = results[-1].get("fanout")
    if fan:
        lines += [f"## Notification fan-out ({results[-1]['size']:,} initiatives)", "",
                  "Review-requested events written in one batch by "
                  "`portfolio.services.activities_record`, each routed to a reviewer group "
                  "of the bench's own reviewers, all told immediately; the outbox rows are "
                  "counted, then everything is rolled back (nothing is queued).", "",
                  _md_table(["events × recipients", "wall time", "queries", "reads",
                             "inserts", "outbox rows", "in outbox inserts", "peak RSS"],
                            [[_shape_name(s), f"{s['median_ms']:,.0f} ms", str(s["queries"]),
                              str(s["reads"]), str(s["inserts"]), f"{s['outbox_rows']:,}",
                              f"{s['outbox_insert_ms']:,.0f} ms",
                              f"{s['peak_rss_mb']:,.0f} MiB" if s.get("peak_rss_mb") else "—"]
                             for s in fan["shapes"]]), ""]
    return "\n".join(lines)
