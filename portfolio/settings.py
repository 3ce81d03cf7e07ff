"""Settings for the AI initiative portfolio tracker, read from the environment.

Every variable is listed in ``.env.example`` and the README. A malformed value
raises ``ConfigError`` naming the variable; ``manage.py``, WSGI and Celery turn
that into one line on stderr.
"""

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONE, SELF

from portfolio.config import ConfigError, Env
from portfolio.identity.rolemap import RoleMapError, parse_role_map

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env(os.environ)

# Local state of the embedded default (SQLite file, broker folders, mail).
VAR_DIR = Path(env.str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ConfigError("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "django-insecure-local-development-only-key"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from the package (no CDN)
    "simple_history",
    "axes",
    "csp",
    "portfolio",
    "governance",
    "scoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Ends sessions idle or too old before the login requirement is checked.
    "portfolio.identity.middleware.SessionTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # AxesMiddleware must come last: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portfolio.urls"
WSGI_APPLICATION = "portfolio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portfolio.context_processors.navigation",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------
DATABASES = {"default": env.database("DATABASE_URL", default_sqlite_path=VAR_DIR / "db.sqlite3")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server and the worker read while the other writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.redis_url("REDIS_URL")
if REDIS_URL:
    # Django's, keeping one client per connection pool (portfolio/cache.py).
    CACHES = {"default": {"BACKEND": "portfolio.cache.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out username before any password check.
    "axes.backends.AxesStandaloneBackend",
    # Passwords (refused for all but the break-glass accounts when PASSWORD_SIGN_IN=off).
    "portfolio.identity.backends.PasswordBackend",
    # The OpenID Connect provider's sign-ins (only its callback calls it; inert while
    # OIDC_ISSUER is unset).
    "portfolio.identity.backends.OidcBackend",
]

# Single sign-on through an OpenID Connect provider (portfolio/identity/), off unless
# OIDC_ISSUER is set. Endpoints and keys come from the provider's discovery document.
OIDC_ISSUER = (env.str("OIDC_ISSUER") or "").rstrip("/")
SSO_ENABLED = bool(OIDC_ISSUER)
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", "")
if SSO_ENABLED and not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
    raise ConfigError("OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set with OIDC_ISSUER")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", "your organisation's sign-in")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", "openid email profile")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", "groups")
OIDC_USERNAME_CLAIM = env.str("OIDC_USERNAME_CLAIM", "preferred_username")
# "pm=ai-pms,product;reviewer=ai-governance;tpm=tpms;leadership=execs;staff=portfolio-admins"
try:
    OIDC_ROLE_MAP = parse_role_map(env.str("OIDC_ROLE_MAP", ""))
except RoleMapError as error:
    raise ConfigError(f"OIDC_ROLE_MAP: {error}") from error
OIDC_DEACTIVATE_GROUPS = env.list("OIDC_DEACTIVATE_GROUPS", default=[])
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT_SECONDS", default=10, minimum=1)
# How the client secret reaches the token endpoint: in the form body (client_secret_post,
# the default) or as HTTP Basic (client_secret_basic, e.g. Okta's default).
OIDC_TOKEN_AUTH_METHOD = env.str("OIDC_TOKEN_AUTH_METHOD", "client_secret_post")
if OIDC_TOKEN_AUTH_METHOD not in ("client_secret_post", "client_secret_basic"):
    raise ConfigError("OIDC_TOKEN_AUTH_METHOD must be client_secret_post or client_secret_basic")
OIDC_TOKEN_USE_BASIC_AUTH = OIDC_TOKEN_AUTH_METHOD == "client_secret_basic"
# mozilla-django-oidc's own switches: PKCE with S256, a nonce, state per sign-in, the
# ID token kept in the session for the provider's end-session hint.
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso-callback"
OIDC_CALLBACK_CLASS = "portfolio.identity.views.SsoCallbackView"

# Password sign-in: "on" for everyone, or "off" for all but the break-glass accounts
# named in PASSWORD_SIGN_IN_USERS (who must also be staff).
PASSWORD_SIGN_IN = env.bool("PASSWORD_SIGN_IN", default=True)
PASSWORD_SIGN_IN_USERS = env.list("PASSWORD_SIGN_IN_USERS", default=[])
if not PASSWORD_SIGN_IN and not SSO_ENABLED:
    raise ConfigError("PASSWORD_SIGN_IN=false needs single sign-on (OIDC_ISSUER): otherwise "
                      "only the break-glass accounts could sign in")

# Sessions end after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after
# sign-in, whichever comes first (portfolio.identity.middleware).
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=120, minimum=1)
SESSION_MAX_HOURS = env.int("SESSION_MAX_HOURS", default=12, minimum=1)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # lockouts are still logged; this only silences the start-up banner
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0, minimum=0)

# --- Security ---------------------------------------------------------------
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if env.int("PROXY_COUNT", default=0, minimum=0) > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * SESSION_MAX_HOURS
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.time_zone("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Email ------------------------------------------------------------------
globals().update(env.email("EMAIL_URL", default_folder=VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "AI Portfolio Tracker <portfolio@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = env.str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Stalled pilots and the weekly digest -------------------------------------
PILOT_MAX_DAYS = env.int("PILOT_MAX_DAYS", default=90, minimum=1)
PILOT_IDLE_DAYS = env.int("PILOT_IDLE_DAYS", default=21, minimum=1)
# An undecided stall adds the initiative's sponsor to the digest after this many weeks.
STALL_ESCALATE_WEEKS = env.int("STALL_ESCALATE_WEEKS", default=2, minimum=1)
# Monday at this hour in TIME_ZONE; the catch-up job sends a week that beat missed.
DIGEST_HOUR = env.int("DIGEST_HOUR", default=7, minimum=0)
if DIGEST_HOUR > 23:
    raise ConfigError(f"DIGEST_HOUR must be an hour of the day (0-23), got {DIGEST_HOUR}")
# Transient SMTP failures retry after base x 2^(attempt-1) seconds, capped; then fail.
DIGEST_RETRY_BASE_SECONDS = env.int("DIGEST_RETRY_BASE_SECONDS", default=60, minimum=0)
DIGEST_RETRY_MAX_SECONDS = env.int("DIGEST_RETRY_MAX_SECONDS", default=30 * 60, minimum=0)
DIGEST_MAX_ATTEMPTS = env.int("DIGEST_MAX_ATTEMPTS", default=8, minimum=1)
# A delivery a worker took this long ago without finishing is taken to have died with it.
# Longer than CELERY_TASK_TIME_LIMIT (10 minutes) in production, so a slow live send is never
# taken over; tests that kill a worker set it low.
DIGEST_SEND_LEASE_SECONDS = env.int("DIGEST_SEND_LEASE_SECONDS", default=15 * 60, minimum=1)
# --- Notifications (email and chat) -------------------------------------------
# The same retry policy as the digest's: base x 2^(attempt-1) seconds, capped, then failed.
NOTIFY_RETRY_BASE_SECONDS = env.int("NOTIFY_RETRY_BASE_SECONDS", default=30, minimum=0)
NOTIFY_RETRY_MAX_SECONDS = env.int("NOTIFY_RETRY_MAX_SECONDS", default=30 * 60, minimum=0)
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=8, minimum=1)
# A notification a worker took this long ago without finishing died with that worker.
NOTIFY_SEND_LEASE_SECONDS = env.int("NOTIFY_SEND_LEASE_SECONDS", default=15 * 60, minimum=1)
# The daily summary goes out at this hour in TIME_ZONE.
DAILY_SUMMARY_HOUR = env.int("DAILY_SUMMARY_HOUR", default=8, minimum=0)
if DAILY_SUMMARY_HOUR > 23:
    raise ConfigError(f"DAILY_SUMMARY_HOUR must be an hour of the day (0-23), got "
                      f"{DAILY_SUMMARY_HOUR}")
# Chat webhooks: https to an allowed host only. Plain http to a loopback address (a test's
# or a developer's local server) only when this is on; never in production.
WEBHOOK_ALLOW_LOOPBACK = env.bool("WEBHOOK_ALLOW_LOOPBACK", default=DEBUG)
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10, minimum=1)
# Segregation of duties: beside the owner and the sponsor, people in these RACI roles on an
# initiative (R, A, C, I) never decide its checkpoints.
SEGREGATED_ROLES = env.list("SEGREGATED_ROLES", default=["R", "C"])
if set(SEGREGATED_ROLES) - {"R", "A", "C", "I"}:
    raise ConfigError(f"SEGREGATED_ROLES takes RACI letters (R, A, C, I), got "
                      f"{','.join(SEGREGATED_ROLES)}")

EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30, minimum=1)
# The message and the server's final reply to it get longer than connecting and commands:
# giving up on a late "250" would retry a message the server already stored (a duplicate).
# Below CELERY_TASK_SOFT_TIME_LIMIT, so the task is not stopped while it waits.
EMAIL_DATA_TIMEOUT = env.int("EMAIL_DATA_TIMEOUT", default=300, minimum=1)
if EMAIL_DATA_TIMEOUT < EMAIL_TIMEOUT:
    raise ConfigError(f"EMAIL_DATA_TIMEOUT must be at least EMAIL_TIMEOUT ({EMAIL_TIMEOUT}), "
                      f"got {EMAIL_DATA_TIMEOUT}")

# --- Outcomes: the exit contract and value after production ------------------
# Money on pages, the API and CSV is in this currency (an ISO 4217 code).
VALUE_CURRENCY = env.str("VALUE_CURRENCY", "EUR").upper()
if len(VALUE_CURRENCY) != 3 or not VALUE_CURRENCY.isalpha():
    raise ConfigError(f"VALUE_CURRENCY must be a three-letter currency code, got {VALUE_CURRENCY}")
# The shortest pilot, in days, before production, per risk tier (a prohibited tier never
# reaches pilot). MIN_PILOT_DAYS_MINIMAL, _LIMITED, _HIGH.
MIN_PILOT_DAYS = {
    "minimal": env.int("MIN_PILOT_DAYS_MINIMAL", default=14, minimum=0),
    "limited": env.int("MIN_PILOT_DAYS_LIMITED", default=30, minimum=0),
    "high": env.int("MIN_PILOT_DAYS_HIGH", default=60, minimum=0),
}
# Value reviews come due this many days after entering production; one left unrecorded
# this many days after it came due is overdue.
_review_days = env.list("VALUE_REVIEW_DAYS", ["30", "90", "180"])
if not all(days.isdigit() and int(days) >= 1 for days in _review_days):
    raise ConfigError("VALUE_REVIEW_DAYS must list whole days after production, e.g. 30,90,180; "
                      f"got {','.join(_review_days)}")
VALUE_REVIEW_DAYS = sorted({int(days) for days in _review_days})
VALUE_REVIEW_GRACE_DAYS = env.int("VALUE_REVIEW_GRACE_DAYS", default=14, minimum=0)
# A recorded realised value below this percentage of the predicted value puts it at risk.
VALUE_AT_RISK_PERCENT = env.int("VALUE_AT_RISK_PERCENT", default=50, minimum=1)

# --- Celery -----------------------------------------------------------------
# With REDIS_URL: Redis is the broker. Without: kombu's filesystem transport,
# which needs no server (one worker process; see README).
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_STATE_DIR = VAR_DIR / "celery"
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_STATE_DIR / "queue"),
        "data_folder_out": str(CELERY_STATE_DIR / "queue"),
        "control_folder": str(CELERY_STATE_DIR / "control"),
        "processed_folder": str(CELERY_STATE_DIR / "processed"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than any task's time limit or retry countdown, so a message
        # is re-delivered only when its worker really died.
        "visibility_timeout": max(60 * 60 * 2, 2 * DIGEST_RETRY_MAX_SECONDS,
                                  2 * DIGEST_SEND_LEASE_SECONDS),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 60 * 10
CELERY_TASK_SOFT_TIME_LIMIT = 60 * 9
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_STATE_DIR / "beat-schedule")
CELERY_BEAT_SCHEDULE = {
    # One place for every periodic job. The heartbeat lets /healthz tell
    # whether a worker is consuming.
    "worker-heartbeat": {"task": "portfolio.tasks.record_worker_heartbeat", "schedule": 60.0},
    # Daily, early morning in TIME_ZONE: expired waivers block their gate again and put an
    # initiative already past it out of compliance (idempotent: each lapse reported once).
    "waivers-lapse": {"task": "governance.tasks.waivers_lapse_task",
                      "schedule": crontab(hour=6, minute=0)},
    # Daily: record who is above or below each team's funding line this quarter; a change
    # is a "crossed the funding line" activity for the digest.
    "funding-line-record": {"task": "scoring.tasks.funding_line_record_task",
                            "schedule": crontab(hour=5, minute=30)},
    # Daily: create the value reviews that came due (each once).
    "value-reviews-schedule": {"task": "portfolio.tasks.value_reviews_schedule_task",
                               "schedule": crontab(hour=6, minute=15)},
    # Daily: flag stalled pilots, resolve flags that no longer hold, escalate undecided ones.
    "stalls-detect": {"task": "portfolio.tasks.stalls_detect_task",
                      "schedule": crontab(hour=6, minute=30)},
    # Monday morning: claim and send this ISO week's digests.
    "digest-weekly": {"task": "portfolio.tasks.digest_run_task",
                      "schedule": crontab(day_of_week="mon", hour=DIGEST_HOUR, minute=0)},
    # Every 15 minutes: run a week's digest that beat missed, and send deliveries that a
    # lost message or a killed worker left behind (still once each).
    "digest-catch-up": {"task": "portfolio.tasks.digest_catch_up_task",
                        "schedule": crontab(minute="*/15")},
    # Every 5 minutes: recompute what changed of the dashboard's stored standings (nothing
    # happens when they are current; the first run of a day recomputes them all).
    "standings-refresh": {"task": "scoring.tasks.standings_refresh_task",
                          "schedule": crontab(minute="*/5")},
    # Nightly: recompute every standing (the catch-all behind the refreshes above, which
    # recompute only what each change names).
    "standings-recompute": {"task": "scoring.tasks.standings_recompute_task",
                            "schedule": crontab(hour=0, minute=15)},
    # Every minute: send notifications a lost message or a killed worker left behind, and
    # those whose back-off is over (each still once).
    "notifications-catch-up": {"task": "portfolio.tasks.notifications_catch_up_task",
                               "schedule": 60.0},
    # Daily: one summary email per person who chose "daily" for something that happened.
    "daily-summaries": {"task": "portfolio.tasks.daily_summaries_run_task",
                        "schedule": crontab(hour=DAILY_SUMMARY_HOUR, minute=0)},
}

# --- The product's own rules ------------------------------------------------
# An owner with no activity on an initiative for longer than this is "silent".
OWNER_SILENT_DAYS = env.int("OWNER_SILENT_DAYS", default=21, minimum=0)
PAGE_SIZE = env.int("PAGE_SIZE", default=50, minimum=1)

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portfolio.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portfolio.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portfolio.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Rate limits (portfolio/api/throttling.py), counted in the default cache: requests per
    # signed-in user, and failed token sign-ins per client address.
    "DEFAULT_THROTTLE_CLASSES": ["portfolio.api.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.rate("API_USER_RATE", default="600/minute"),
        "token_failure": env.rate("API_TOKEN_FAILURE_RATE", default="10/minute"),
    },
    # The client's address is the one the PROXY_COUNT-th proxy saw, as for sign-in lockouts.
    "NUM_PROXIES": AXES_IPWARE_PROXY_COUNT,
}
# The API's page size: ?page_size= up to the cap.
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50, minimum=1)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=200, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "AI Initiative Portfolio Tracker API",
    "DESCRIPTION": ("Initiatives (stage moves, updates), teams, stalled pilots and their "
                    "decisions, the kill log, governance checkpoints (decide, waive), the "
                    "ranking with breakdowns, dashboard figures and capacity plans, with the "
                    "same rules and permissions as the browser. Authenticate with a personal "
                    "API token (`Authorization: Bearer <token>`, created at /account/tokens/) "
                    "or a browser session (with its CSRF token)."),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Anonymous users see nothing but the login page: the schema and its UI need a sign-in.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"StageEnum": "portfolio.models.Stage",
                            "ValueDecisionEnum": "portfolio.models.ValueDecision",
                            "StallDecisionEnum": "portfolio.models.StallDecision",
                            # Read in the detail and the created initiative alike.
                            "RiskTierEnum": "portfolio.models.RiskTier",
                            "AutonomyLevelEnum": "portfolio.models.AutonomyLevel"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "portfolio.api.schema.refuse_nul_in_request_text",
                             "portfolio.api.schema.document_throttling"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A 4xx is one line without a traceback (django.request attaches the exception of a
    # PermissionDenied; the django.security loggers that of a SuspiciousOperation).
    "filters": {"one_line_client_errors": {"()": "portfolio.logs.OneLineClientErrors"}},
    "formatters": {"django.server": {"()": "django.utils.log.ServerFormatter",
                                     "format": "[{server_time}] {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler",
                             "filters": ["one_line_client_errors"]},
                 "django.server": {"class": "logging.StreamHandler",
                                   "formatter": "django.server"}},
    "loggers": {
        # Each request is logged once, by the server (runserver's "django.server" line,
        # gunicorn's access log). Django's own "django" console handler would print every
        # record a second time beside the root's, and django.request's 4xx warnings ("Not
        # Found: /x") repeat the server's line: it logs server errors, with their traceback.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["one_line_client_errors"], "level": "ERROR"},
        # Configuring "django" resets its children: runserver's request line keeps its
        # own time-stamped format here, as Django's default has it.
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
}
