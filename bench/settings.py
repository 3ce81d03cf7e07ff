"""The app's own settings, plus what the benchmark needs to see inside each request.

``make bench`` serves the app with these under gunicorn: the same views, middleware and
database settings as production, with two additions:

- ``bench.middleware.measure`` (outermost) puts the server time and the number of SQL
  queries of each response in ``Server-Timing`` / ``X-Bench-Queries`` headers;
- ``bench.urls`` is the app's URLconf plus ``/bench/minimal/``, the baseline view
  (figure 3), which lives here, never in the app.
"""

from portfolio.settings import *  # noqa: F403 (the app's settings, overridden below)
from portfolio.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.middleware.measure", *MIDDLEWARE]
