"""Server time and query count of each response, in its headers.

Outermost middleware: it times everything Django does for the request (every other
middleware, the view, rendering) and counts every SQL statement sent meanwhile through
``connection.execute_wrapper`` — the same hook ``CaptureQueriesContext`` relies on, with
no ``DEBUG`` needed. Counting costs a function call per query, the same for every view.
"""

import time

from django.db import connection


def measure(get_response):
    def middleware(request):
        queries = 0

        def count(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = f"app;dur={elapsed_ms:.3f}"
        response["X-Bench-Queries"] = str(queries)
        return response

    return middleware
