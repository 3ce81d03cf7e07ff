"""Server time and query count of each response, in its headers.

Outermost middleware: it times everything Django does for the request (every other
middleware, the view, rendering) and counts every SQL statement sent meanwhile through
``connection.execute_wrapper`` — the same hook ``CaptureQueriesContext`` relies on, with
no ``DEBUG`` needed. Counting costs a function call per query, the same for every view.

The session's last-seen stamp (``portfolio.identity.sessions``: written back at most once
a minute) is left out of the count and reported in ``X-Bench-Session-Writes``: whether a
request carries it depends on the clock, not on the portfolio, so counting it would make
every endpoint's count vary between requests a minute apart.
"""

import time

from django.db import connection

SESSION_WRITE = 'UPDATE "django_session"'


def measure(get_response):
    def middleware(request):
        queries = session_writes = 0

        def count(execute, sql, params, many, context):
            nonlocal queries, session_writes
            if sql.startswith(SESSION_WRITE):
                session_writes += 1
            else:
                queries += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = f"app;dur={elapsed_ms:.3f}"
        response["X-Bench-Queries"] = str(queries)
        response["X-Bench-Session-Writes"] = str(session_writes)
        return response

    return middleware
