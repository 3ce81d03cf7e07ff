"""Running database work at the same moment, for the suite's concurrency tests.

Each call runs in a thread of its own, on its own database connection (closed when it
ends); a barrier releases them together, so they really are in flight at once. Needs
``django_db(transaction=True)``: the threads cannot see a test's open transaction.
"""

from __future__ import annotations

import threading
from functools import partial

from django.db import connections


def run_together(*calls) -> list:
    """Call each of ``calls`` at once; their results, in order. Re-raises the first error."""
    start = threading.Barrier(len(calls), timeout=30)
    results, errors = [None] * len(calls), []

    def body(index, call):
        try:
            start.wait()
            results[index] = call()
        except BaseException as error:  # noqa: BLE001 (reported to the test thread)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(index, call))
               for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a concurrent run hung"
    if errors:
        raise errors[0]
    return results


def in_threads(target, count: int, *args, **kwargs) -> list:
    """``target(*args, **kwargs)`` ``count`` times at once; their results."""
    return run_together(*[partial(target, *args, **kwargs)] * count)
