"""``make bench``: seed portfolios of 1,000, 10,000 and 100,000 initiatives and measure how
the app's cost grows with them (issue 8). See bench/README.md.

    .venv/bin/python -m bench.run [--sizes 1000,10000,100000] [--no-send] [--wrk-seconds 10]
    .venv/bin/python -m bench.run --sizes 1000 --only fanout     # one case, while developing

The database (``BENCH_DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/bench``)
is dropped and re-created for every size; it is refused if it is named ``test`` or
``test_*``. Redis is ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/10``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
VAR_DIR = BENCH_DIR / "var"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
DEFAULT_SIZES = "1000,10000,100000"
CASES = ("stalls", "ranking", "scenario", "http", "digest", "fanout")
FAN_OUT = 1000


def _configure_environment() -> dict:
    """The environment of this process, gunicorn and the workers: the app's settings
    read from it (see portfolio/settings.py), pointed at the bench database and Redis."""
    database_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    name = urlsplit(database_url).path.lstrip("/")
    if not name or name == "test" or name.startswith("test_"):
        sys.exit(f"Refusing BENCH_DATABASE_URL {database_url!r}: the bench drops and "
                 "re-creates its database; give it one of its own (default: bench).")
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key-not-for-production",
        "DEBUG": "false",
        "HTTPS": "false",
        "VAR_DIR": str(VAR_DIR),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # The load figures measure the server, not the rate limiter: one bench user sends
        # thousands of requests a minute, which the default limit would answer with 429.
        # The limiter still runs (and costs what it costs) on every API request.
        "API_USER_RATE": os.environ.get("BENCH_API_USER_RATE") or "10000000/minute",
    }
    os.environ.update(env)
    return env


def _recreate_database(database_url: str) -> None:
    import psycopg
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections

    connections.close_all()
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    ContentType.objects.clear_cache()


def _session_cookie(user_id: int) -> str:
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    from portfolio.identity.backends import PASSWORD_BACKEND

    user = get_user_model().objects.get(pk=user_id)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = PASSWORD_BACKEND
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def endpoints(detail: int, early: int, *, next_quarter: str, scenario: str):
    from bench.measure import Endpoint
    from governance.models import OPEN_STATUSES, Checkpoint

    checkpoint = (Checkpoint.objects.filter(initiative_id=early, status__in=OPEN_STATUSES)
                  .order_by("id").values_list("id", flat=True).first())
    return [
        Endpoint("list", "Initiative list page", "/initiatives/", "pm", "page"),
        Endpoint("detail", "Initiative detail page", f"/initiatives/{detail}/", "pm", "page"),
        Endpoint("detail-early", "Initiative detail page, before production",
                 f"/initiatives/{early}/", "pm", "page"),
        Endpoint("dashboard", "Dashboard page", "/dashboard/", "leadership", "page"),
        Endpoint("dashboard-next", "Dashboard page, next quarter",
                 f"/dashboard/?quarter={next_quarter}", "leadership", "page"),
        Endpoint("scenario", "Scenario page (beside the live plan)",
                 f"/dashboard/scenarios/{scenario}/", "leadership", "page"),
        Endpoint("queue", "Review queue page", "/governance/queue/", "reviewer", "page"),
        Endpoint("queue-mine", "Review queue page, mine (?mine=1)", "/governance/queue/?mine=1",
                 "reviewer", "page"),
        Endpoint("inbox", "Inbox page (waiting on me), reviewer", "/inbox/", "reviewer", "page"),
        Endpoint("inbox-pm", "Inbox page (waiting on me), PM", "/inbox/", "pm", "page"),
        Endpoint("stalls", "Stalled pilots page", "/stalls/", "tpm", "page"),
        Endpoint("value", "Value page (predicted against realised)", "/dashboard/value/",
                 "leadership", "page"),
        Endpoint("value-reviews", "Value reviews page", "/value-reviews/", "tpm", "page"),
        Endpoint("edit", "Initiative edit page", f"/initiatives/{detail}/edit/", "pm", "page"),
        Endpoint("checkpoint", "Checkpoint page (a review before production)",
                 f"/governance/checkpoints/{checkpoint}/", "reviewer", "page"),
        Endpoint("kill-log", "Kill log page", "/initiatives/kill-log/", "pm", "page"),
        Endpoint("ownership", "Ownership page", "/initiatives/ownership/", "tpm", "page"),
        Endpoint("capacity", "Capacity page", "/dashboard/capacity/", "leadership", "page"),
        Endpoint("scenarios", "Scenarios page (the list)", "/dashboard/scenarios/",
                 "leadership", "page"),
        Endpoint("inbox-count", "Waiting-on-me count (/inbox/count.json), reviewer",
                 "/inbox/count.json", "reviewer", "api"),
        Endpoint("api-initiatives", "GET /api/v1/initiatives/", "/api/v1/initiatives/", "pm",
                 "api"),
        Endpoint("api-initiative", "GET /api/v1/initiatives/<id>/ (detail)",
                 f"/api/v1/initiatives/{detail}/", "pm", "api"),
        Endpoint("api-updates", "GET /api/v1/initiatives/<id>/updates/",
                 f"/api/v1/initiatives/{detail}/updates/", "pm", "api"),
        Endpoint("api-teams", "GET /api/v1/teams/", "/api/v1/teams/", "pm", "api"),
        Endpoint("api-stalls", "GET /api/v1/stalls/", "/api/v1/stalls/", "tpm", "api"),
        Endpoint("api-kill-log", "GET /api/v1/kill-log/", "/api/v1/kill-log/", "pm", "api"),
        Endpoint("api-checkpoints", "GET /api/v1/checkpoints/", "/api/v1/checkpoints/",
                 "reviewer", "api"),
        Endpoint("api-capacity", "GET /api/v1/capacity-plans/", "/api/v1/capacity-plans/",
                 "leadership", "api"),
        Endpoint("ranking", "GET /api/v1/ranking/", "/api/v1/ranking/", "leadership", "api"),
        Endpoint("ranking-next", "GET /api/v1/ranking/?quarter=<next>",
                 f"/api/v1/ranking/?quarter={next_quarter}", "leadership", "api"),
        Endpoint("api-dashboard", "GET /api/v1/dashboard/", "/api/v1/dashboard/", "leadership",
                 "api"),
        Endpoint("api-value", "GET /api/v1/value/", "/api/v1/value/", "leadership", "api"),
        Endpoint("api-value-reviews", "GET /api/v1/value-reviews/", "/api/v1/value-reviews/",
                 "tpm", "api"),
        Endpoint("api-review-capacity", "GET /api/v1/review-capacity/",
                 "/api/v1/review-capacity/", "reviewer", "api"),
        Endpoint("api-scenarios", "GET /api/v1/scenarios/", "/api/v1/scenarios/",
                 "leadership", "api"),
        Endpoint("minimal", "Baseline: /bench/minimal/ (bench view)", "/bench/minimal/", "pm",
                 "baseline"),
    ]


def _ranking_figures(runs: int) -> dict:
    """Figure 4: the app's ranking of the live portfolio (``scoring.standings.
    portfolio_ranking``, what the standings are computed from: ranked in SQL, rows of the
    columns the funding line reads) against PostgreSQL reading the same rows. Then the
    standings themselves are computed (what the worker does after a change), which leaves
    them current for the HTTP figures, as beat would on a live system."""
    from django.utils import timezone

    from bench.measure import explain_ms, raw_read_ms, timed
    from portfolio.models import Initiative, Stage
    from scoring.selectors import active_scoring_model, ranked_initiatives
    from scoring.standings import RANKED_COLUMNS, portfolio_ranking, standings_refresh

    model = active_scoring_model()
    live = Initiative.objects.exclude(stage=Stage.RETIRED)
    # The query portfolio_ranking runs.
    ranked = ranked_initiatives(live, model=model).values_list(*RANKED_COLUMNS)
    rank = timed(lambda: portfolio_ranking(model), runs=runs)
    rank_sql, rank_params = ranked.query.sql_with_params()
    read_sql = ("SELECT id, created_at, reach, impact, confidence, effort_weeks, "
                "business_value, time_criticality, risk_reduction, strategic_alignment "
                "FROM portfolio_initiative WHERE stage <> 'retired'")
    read_ms, rows = raw_read_ms(read_sql, runs=runs)
    rank_raw_ms, _ = raw_read_ms(rank_sql, rank_params, runs=runs)
    # The standings: the ranking, the funding line, what blocks each funded initiative and
    # the KPI flags, stored; the dashboard and /api/v1/ranking/ read them.
    assembly = timed(lambda: standings_refresh(now=timezone.now(), force=True), runs=1)
    edit = _edit_refresh_figures(runs)
    return {
        **edit,
        "rows": rows, "model": str(model),
        "rank_ms": rank.median_ms, "rank_queries": rank.queries,
        "read_ms": read_ms,
        "read_server_ms": explain_ms(read_sql),
        "rank_sql_fetch_ms": rank_raw_ms,
        "rank_sql_server_ms": explain_ms(rank_sql, rank_params),
        "assembly_ms": assembly.median_ms, "assembly_queries": assembly.queries,
    }


def _edit_refresh_figures(runs: int) -> dict:
    """The refresh the worker runs after one initiative's edit (the standings current
    before it): a PM doubles, then halves again, the effort of a candidate in the middle
    of the ranking, through ``initiative_update``; only the refresh is timed. It
    recomputes what the edit names (``scoring.standings._recompute_named``): the
    initiative's row, its team's funding lines, the ranks its score moved."""
    import statistics

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from portfolio.models import Initiative, Stage
    from portfolio.services import initiative_update
    from scoring.models import Standing
    from scoring.standings import standings_refresh

    candidates = Initiative.objects.filter(stage=Stage.ASSESSMENT, effort_weeks__gte=2,
                                           standing__rank__isnull=False)
    edited = candidates.order_by("standing__rank")[candidates.count() // 2]
    times, queries, moved = [], 0, []
    for run in range(max(runs, 2)):
        edited.refresh_from_db()
        ranked = dict(Standing.objects.filter(rank__isnull=False)
                      .values_list("initiative_id", "rank"))
        effort = edited.effort_weeks * 2 if run % 2 == 0 else edited.effort_weeks / 2
        initiative_update(initiative=edited, actor=edited.owner, now=timezone.now(),
                          expected_version=edited.version, changes={"effort_weeks": effort})
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            snapshot = standings_refresh(now=timezone.now())
            times.append((time.perf_counter() - started) * 1000)
        queries = len(captured.captured_queries)
        assert snapshot.recomputed_at < snapshot.taken_at, "a full recompute, not a refresh"
        moved.append(sum(1 for pk, rank in Standing.objects.filter(rank__isnull=False)
                         .values_list("initiative_id", "rank") if ranked.get(pk) != rank))
    return {"edit_refresh_ms": statistics.median(times), "edit_refresh_queries": queries,
            "edit_refresh_moved": max(moved)}


def _scenario_figures(runs: int, key: str) -> dict:
    """The scenario beside the live plan, computed rather than read from the cache: what
    the first view after any change to the portfolio or the scenario costs
    (``scoring.scenarios.scenario_comparison``: the ranking and the funding walk up to
    the scenario's quarter, live and under the scenario). The page's figure (HTTP) reads
    the cached comparison, as every later view until the next change does."""
    from django.core.cache import cache
    from django.utils import timezone

    from bench.measure import timed
    from scoring.models import Scenario
    from scoring.scenarios import _cache_key, scenario_comparison

    scenario = Scenario.objects.prefetch_related("capacities", "pins").get(key=key)
    now = timezone.now()
    compared = []

    def computed():
        cache.delete(_cache_key(scenario, now=now))
        compared.append(scenario_comparison(scenario=scenario, now=now))

    result = timed(computed, runs=runs)
    comparison = compared[-1]
    return {"median_ms": result.median_ms, "runs_ms": result.runs,
            "queries": result.queries, "quarter": comparison.quarter,
            "entering": len(comparison.entering), "dropping": len(comparison.dropping)}


def _stall_figures(runs: int) -> dict:
    """Figure 5: ``stalls_detect`` flagging the seeded stalled pilots (undone each run)."""
    from django.utils import timezone

    from bench.measure import timed
    from portfolio.models import StallFlag
    from portfolio.pilots.services import stalls_detect

    now = timezone.now()
    flagged = []
    result = timed(lambda: flagged.append(stalls_detect(now=now).flagged), runs=runs,
                   rollback=True)
    stalls_detect(now=now)  # for real: the pages and the digest read the open flags
    return {"median_ms": result.median_ms, "runs_ms": result.runs, "queries": result.queries,
            "flagged": flagged[-1], "open_flags": StallFlag.objects.open().count()}


def _same_rows(port: int, cookie: str) -> bool:
    """Whether the baseline returns the API's first page: the same ids, in the same order."""
    from bench.measure import get

    pages = [json.loads(get(port, path, cookie=cookie)[1])["results"]
             for path in ("/api/v1/initiatives/", "/bench/minimal/")]
    return [row["id"] for row in pages[0]] == [row["id"] for row in pages[1]]


def _routed(path: str) -> bool:
    """Whether the app (the bench's URLconf) answers ``path``: a page another change is
    still building is skipped with a note rather than measured as a 404."""
    from django.urls import Resolver404, resolve

    try:
        resolve(urlsplit(path).path)
    except Resolver404:
        return False
    return True


def _endpoint_figures(sampled: dict) -> dict:
    return {key: {"label": s.endpoint.label, "path": s.endpoint.path,
                  "kind": s.endpoint.kind, "median_ms": s.median_ms,
                  "median_latency_ms": s.median_latency_ms,
                  "queries": sorted(s.queries), "samples": len(s.responses),
                  "errors": s.errors, "bytes": s.median_size}
            for key, s in sampled.items()}


def _fan_out_figures(n: int, runs: int) -> dict:
    """Figure 8: ``n`` review-requested events fanned out to ``n`` reviewers each, in one
    batch, beside the smaller shapes (bench/fanout.py); everything rolled back."""
    from bench import fanout

    return fanout.measure(n=n, runs=runs, progress=lambda line: print(line, flush=True))


# Figure 3's load: wrk against each path as its persona, at the largest size only (each
# run takes --wrk-seconds; the sizes below it would only repeat the measurement).
LOADS = (("list", "/initiatives/", "pm"),
         ("dashboard", "/dashboard/", "leadership"),
         ("api", "/api/v1/initiatives/", "pm"),
         ("minimal", "/bench/minimal/", "pm"))


def _http_figures(portfolio, env: dict, args, log: Path, *, load: bool) -> dict:
    from bench.measure import WRK_MISSING, Gunicorn, free_port, interleaved, sample, wrk

    cookies = {persona: _session_cookie(user_id)
               for persona, user_id in portfolio.personas.items()}
    port = free_port(int(os.environ.get("BENCH_PORT", "8765")))
    server = Gunicorn(env=env, port=port, workers=args.web_workers, log=log)
    try:
        sampled = {}
        for endpoint in endpoints(portfolio.detail_initiative, portfolio.early_initiative,
                                  next_quarter=portfolio.next_quarter,
                                  scenario=portfolio.scenario):
            if args.endpoints and endpoint.key not in args.endpoints:
                continue
            if not _routed(endpoint.path):
                print(f"  {endpoint.label:<44} skipped: {endpoint.path} is not a URL of the "
                      "app yet", flush=True)
                continue
            result = sample(port, endpoint, cookie=cookies[endpoint.persona],
                            budget_s=args.budget)
            sampled[endpoint.key] = result
            print(f"  {endpoint.label:<44} {result.median_ms:9.1f} ms  "
                  f"{'/'.join(map(str, sorted(result.queries))):>5} queries  "
                  f"{result.median_size / 1024:8.1f} KiB"
                  + (f"  {result.errors} errors!" if result.errors else ""), flush=True)
        if args.endpoints:  # developing a few endpoints: no overhead or load figures
            return {"port": port, "endpoints": _endpoint_figures(sampled),
                    "web_worker_peak_rss_mb": server.worker_peak_rss_mb()}
        same_rows = _same_rows(port, cookies["pm"])
        api, minimal = interleaved(port, ["/api/v1/initiatives/", "/bench/minimal/"],
                                   cookie=cookies["pm"], rounds=args.rounds)
        loads = {}
        if shutil.which("wrk") is None:
            print(f"  {WRK_MISSING}", flush=True)
        for key, path, persona in LOADS if load else ():
            # A run of its own first, not recorded: the sync workers are still answering the
            # previous path's queued requests when its wrk stops (16 dashboard requests are
            # ~2 s of work), which would count as this path's slowest answers.
            wrk(port, path, cookie=cookies[persona], seconds=args.wrk_warm_up,
                connections=args.wrk_connections)
            result = wrk(port, path, cookie=cookies[persona], seconds=args.wrk_seconds,
                         connections=args.wrk_connections)
            loads[key] = None if result is None else {
                k: v for k, v in asdict(result).items() if k != "output"}
            if result is not None:
                print(f"  wrk {path:<28} {result.requests_per_s:6.0f} req/s  p50 "
                      f"{result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms  "
                      f"{result.errors} errors", flush=True)
        rss = server.worker_peak_rss_mb()
    finally:
        server.stop()
    return {
        "port": port,
        "endpoints": _endpoint_figures(sampled),
        "interleaved": {"rounds": args.rounds, "same_rows": same_rows,
                        "api_ms": api.median_ms, "minimal_ms": minimal.median_ms,
                        "api_latency_ms": api.median_latency_ms,
                        "minimal_latency_ms": minimal.median_latency_ms,
                        "errors": api.errors + minimal.errors},
        "load": loads,
        "web_worker_peak_rss_mb": rss,
    }


def _digest_figures(env: dict, *, send: bool, max_workers: int) -> dict:
    from bench import digest

    build = digest.measure_build()
    figures = {"build": asdict(build)}
    print(f"  digest build: {build.recipients} recipients, {build.digests} digests, "
          f"{build.median_ms:.0f} ms, {build.queries} queries", flush=True)
    if not send:
        return figures
    from portfolio.celery import app as celery_app

    celery_app.conf.task_default_queue = digest.QUEUE
    sends = []
    with digest.SmtpServer(digest.smtp_port()) as smtp:
        for workers in range(1, max_workers + 1):
            result = digest.measure_send(workers=workers, env=env, log_dir=VAR_DIR, smtp=smtp)
            sends.append(asdict(result) | {"per_second": result.per_second})
            print(f"  digest send, {workers} worker(s): {result.digests} digests in "
                  f"{result.total_s:.1f} s ({result.per_second:.0f}/s), "
                  f"{result.received} received, {result.failed} failed", flush=True)
        figures["send_queries"] = digest.send_queries(smtp)
    figures["send"] = sends
    return figures


def run_size(size: int, env: dict, args, *, send_digests: bool, fan_out: bool = False,
             largest: bool = True) -> dict:
    """Seed ``size`` initiatives and measure them; the digest sends and the notification
    fan-out (each minutes, neither growing with the portfolio) run at the ``largest`` size
    only, or at every size of a partial run (``--only``); so does the load under wrk."""
    from django.core.management import call_command
    from django.utils import timezone

    from bench.seed import seed

    print(f"\n=== {size:,} initiatives ===", flush=True)
    _recreate_database(env["DATABASE_URL"])
    call_command("migrate", verbosity=0)
    portfolio = seed(size, now=timezone.now(), progress=lambda line: print(line, flush=True))
    print(f"  seeded in {portfolio.seconds:.1f} s: "
          + ", ".join(f"{n:,} {table}" for table, n in portfolio.rows.items()), flush=True)
    print(f"  detail pages: initiatives {portfolio.detail_initiative} (production), "
          f"{portfolio.early_initiative} (before production); personas "
          + ", ".join(f"{role} #{pk}" for role, pk in portfolio.personas.items()), flush=True)
    figures: dict = {"size": size, "seed": {"seconds": portfolio.seconds,
                                           "rows": portfolio.rows, "teams": portfolio.teams,
                                           "users": portfolio.users,
                                           "detail_initiative": portfolio.detail_initiative,
                                           "early_initiative": portfolio.early_initiative,
                                           "next_quarter": portfolio.next_quarter,
                                           "scenario": portfolio.scenario}}
    only = args.only
    if "stalls" in only:
        figures["stalls"] = _stall_figures(args.runs)
        print(f"  stall detection: {figures['stalls']['median_ms']:.1f} ms, flagged "
              f"{figures['stalls']['flagged']}, {figures['stalls']['queries']} queries",
              flush=True)
    if "ranking" in only:
        figures["ranking"] = _ranking_figures(args.runs)
        print(f"  ranking {figures['ranking']['rows']:,} rows: "
              f"{figures['ranking']['rank_ms']:.0f} ms vs read "
              f"{figures['ranking']['read_ms']:.0f} ms", flush=True)
    if "scenario" in only:
        figures["scenario"] = _scenario_figures(args.runs, portfolio.scenario)
        print(f"  scenario for {figures['scenario']['quarter']} computed: "
              f"{figures['scenario']['median_ms']:.0f} ms, "
              f"{figures['scenario']['queries']} queries, "
              f"{figures['scenario']['entering']} enter, "
              f"{figures['scenario']['dropping']} drop", flush=True)
    if "http" in only:
        figures["http"] = _http_figures(portfolio, env, args, VAR_DIR / "gunicorn.log",
                                        load=largest)
    if "digest" in only:
        figures["digest"] = _digest_figures(env, send=send_digests, max_workers=2)
    if "fanout" in only and (fan_out or args.partial):
        figures["fanout"] = _fan_out_figures(args.fan_out, args.runs)
    return figures


def _parse(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", DEFAULT_SIZES),
                        help="comma-separated portfolio sizes (default %(default)s)")
    parser.add_argument("--no-send", action="store_true",
                        help="skip sending the 1,000 digests (figure 6)")
    parser.add_argument("--wrk-seconds", type=int, default=30,
                        help="seconds of each load run at the largest size (default %(default)s)")
    parser.add_argument("--wrk-warm-up", type=int, default=5,
                        help="seconds of the unrecorded run before each (default %(default)s)")
    parser.add_argument("--wrk-connections", type=int, default=16,
                        help="concurrent connections of each load run (default %(default)s)")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=100,
                        help="interleaved request pairs for figure 3")
    parser.add_argument("--runs", type=int, default=5, help="runs of in-process timings")
    parser.add_argument("--budget", type=float, default=15.0,
                        help="seconds of samples per endpoint (at least 5 samples)")
    parser.add_argument("--output", default=str(BENCH_DIR / "RESULTS.md"))
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the output from bench/var/results.json, measure nothing")
    parser.add_argument("--fan-out", type=int, default=FAN_OUT,
                        help="events and recipients of the largest notification fan-out "
                             "(figure 8: N events × N recipients; default %(default)s)")
    parser.add_argument("--only", default=",".join(CASES),
                        help="while developing: comma-separated cases to measure after "
                             f"seeding, of {','.join(CASES)} (http's stalled-pilots page "
                             "needs stalls); the results go to bench/var/results-only.json "
                             "and RESULTS.md is left alone")
    parser.add_argument("--endpoints", default="",
                        help="while developing: comma-separated endpoint keys to request "
                             "(e.g. inbox,queue-mine), without the overhead and load "
                             "figures; implies a partial run like --only")
    args = parser.parse_args(argv)
    only = [case.strip() for case in args.only.split(",") if case.strip()]
    unknown = set(only) - set(CASES)
    if unknown:
        parser.error(f"--only: unknown case(s) {', '.join(sorted(unknown))}; "
                     f"choose from {','.join(CASES)}")
    args.partial = set(only) != set(CASES) or bool(args.endpoints)
    args.only = set(only)
    args.endpoints = {key.strip() for key in args.endpoints.split(",") if key.strip()}
    return args


def main(argv=None) -> None:
    args = _parse(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    env = _configure_environment()
    VAR_DIR.mkdir(exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    from bench import report

    saved = VAR_DIR / "results.json"
    if args.partial and not args.report_only:
        saved = VAR_DIR / "results-only.json"
        if "http" in args.only:
            call_command("collectstatic", interactive=False, verbosity=0)
        run = {"partial": sorted(args.only), "endpoints": sorted(args.endpoints), "sizes": []}
        for size in sizes:
            run["sizes"].append(run_size(size, env, args,
                                         send_digests=not args.no_send and size == sizes[-1]))
            saved.write_text(json.dumps(run, indent=2, default=str))
        print(f"\nPartial run: figures in {saved}; {args.output} left alone.")
        return
    if args.report_only:
        run = json.loads(saved.read_text())
        run["machine"] = run.get("machine") or report.machine(env)
    else:
        call_command("collectstatic", interactive=False, verbosity=0)
        started = time.monotonic()
        run = {"machine": None, "elapsed_s": 0.0, "sizes": []}
        for size in sizes:
            run["sizes"].append(run_size(size, env, args,
                                         send_digests=not args.no_send and size == sizes[-1],
                                         fan_out=size == sizes[-1],
                                         largest=size == sizes[-1]))
            run["elapsed_s"] = time.monotonic() - started
            run["machine"] = report.machine(env)
            saved.write_text(json.dumps(run, indent=2, default=str))
    print()
    print(report.table(run["sizes"]))
    Path(args.output).write_text(report.markdown(run))
    print(f"\nWrote {args.output} ({run['elapsed_s'] / 60:.1f} minutes of measuring).")


if __name__ == "__main__":
    main()
