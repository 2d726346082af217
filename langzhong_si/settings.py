"""Settings for the Langzhong service-hall system.

One module for every environment. With no environment variables at all it runs the
embedded default: a SQLite file under var/ and a Celery broker that needs no server
(kombu's filesystem transport, consumed by a real worker process). Production differs
only by variables: DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS, DEBUG, ...
"""

import datetime
import ipaddress
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from langzhong_si.env import env_bool, env_int, env_list, env_str, env_time_ranges

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("LANGZHONG_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)
# Production turns on every HTTPS protection by default (each still an override).
PRODUCTION = env_bool("LANGZHONG_PRODUCTION", default=False)
_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105 - embedded default only
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET)
if PRODUCTION and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be set in production (50+ random characters)")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "audit",
    "sites",
    "outbox",
    "staff",
    "catalog",
    "draws",
    "sites_admin",
    "staff_admin",
    "security_desk",
    "devices",
    "counters",
    "front",
    "risk",
    "scans",
    "cases",
    "inbox",
    "papers",
    "ratings",
    "appointments",
    "inspection",
    "evaluation",
    "reporting",
    "simulation",
    "backups",
    "operations",
    "push",
]

MIDDLEWARE = [
    # Outermost: one JSON log line and one metrics sample per request, timing everything.
    "operations.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from STATIC_ROOT (after collectstatic), by the WSGI server itself:
    # compressed, cached, no reverse proxy needed for them.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "langzhong_si.middleware.HallLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # A partial refresh sent to the sign-in page takes the whole page there.
    "langzhong_si.middleware.HtmxSignInMiddleware",
    # An unchanged poll (workbench, inbox, call display) answered here once every check
    # of the whole path passed, without the rest of the stack (operations.pollpath).
    "operations.pollpath.FastPollMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "staff.middleware.AccountSecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.RequestContextMiddleware",
    # Before any view that may draw: the day's seed committed in its own transaction.
    "draws.middleware.DailySeedMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "langzhong_si.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes requires: turns a lockout into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "langzhong_si.urls"
WSGI_APPLICATION = "langzhong_si.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "staff.context_processors.staff_roles",
                "sites.context_processors.staff_site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
_DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", _DEFAULT_DATABASE_URL),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
# The hot hand-written queries prepared once per connection (langzhong_si.prepared): only
# with persistent connections, never behind a pooler in transaction mode.
DATABASE_PREPARED_STATEMENTS = env_bool(
    "DATABASE_PREPARED_STATEMENTS", default=DATABASES["default"]["CONN_MAX_AGE"] != 0
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE takes the write lock when a transaction starts, so two requests never
    # deadlock upgrading a read lock; the timeout lets the second one wait its turn.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    # The test database is a file (not :memory:) so a real worker process can open it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
# Reports and the evaluation may read from a streaming replica (README, scaling out).
_REPLICA_URL = env_str("REPLICA_DATABASE_URL", "")
if _REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        _REPLICA_URL, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"], conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["langzhong_si.db_router.ReportReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits shared by every web process) ---------------------------------------
_CACHE_URL = env_str("CACHE_URL", "")
_CACHE_IN_REDIS = _CACHE_URL.startswith(("redis://", "rediss://", "unix://"))
if _CACHE_IN_REDIS:
    # Django's Redis cache, its client built once (operations.cache: CPU per request).
    # CACHE_KEY_PREFIX: for deployments (or tests) sharing one Redis database.
    CACHES = {
        "default": {
            "BACKEND": "operations.cache.ReusedClientRedisCache",
            "LOCATION": _CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", ""),
        }
    }
elif _CACHE_URL.startswith("file://"):
    # A folder every process of one machine shares (the embedded default's gunicorn
    # workers and Celery worker: scripts/demo.sh): poll versions, remembered tokens and
    # rate limits are then the same in each, as with Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": _CACHE_URL.removeprefix("file://"),
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }
elif _CACHE_URL:
    raise ImproperlyConfigured(
        "CACHE_URL: redis://host:port/db (rediss://, unix://) or file:///a/folder"
    )
else:
    # This process's own (the tests, one-off commands): never for several processes.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ---------------------------------------------------------------------------------
# Argon2id (staff.passwords.Argon2idHasher: 46 MiB, OWASP's parameters), about 45 ms per
# sign-in, where Django's default PBKDF2 (1,000,000 rounds) was nearly the whole sign-in.
# PBKDF2 stays second so hashes set before still verify; each is re-hashed with Argon2id
# at its owner's next sign-in.
PASSWORD_HASHERS = [
    "staff.passwords.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# req. 1: 8+ characters, 3 of 4 classes, not one of the last 5, changed every 90 days.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 8, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "staff.passwords.CharacterClassesValidator", "OPTIONS": {"minimum": 3}},
    {
        "NAME": "staff.passwords.PasswordHistoryValidator",
        "OPTIONS": {"count": env_int("PASSWORD_HISTORY", 5, minimum=1)},
    },
]
PASSWORD_MAX_AGE_DAYS = env_int("PASSWORD_MAX_AGE_DAYS", 90, minimum=1)
# req. 2: 5 failed sign-ins lock the account for 30 minutes (django-axes), or until
# the security administrator unlocks it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading roles and password state with the account.
    "staff.backends.StaffModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
# Lockout is per account, not per address: every counter PC of a hall shares one NAT
# address, and one clerk's typos must not lock the whole hall out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_LOCKOUT_CALLABLE = "staff.views.locked_out"
# Sign-in attempts record the same client address as the audit log and the throttles.
AXES_CLIENT_IP_CALLABLE = "langzhong_si.clientip.client_ip"
AXES_VERBOSE = False
# req. 4: these roles confirm every sign-in with a TOTP code (django-otp).
TWO_FACTOR_ROLES = env_list(
    "TWO_FACTOR_ROLES",
    [
        "system_administrator",
        "security_administrator",
        "audit_administrator",
        "team_lead",
        "approver",
    ],
)
# API tokens (integration accounts only) expire this many days after issue.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90, minimum=1)
# A sign-in code (security_desk) expires this many hours after the security administrator
# gives it.
SIGN_IN_CODE_HOURS = env_int("SIGN_IN_CODE_HOURS", 24, minimum=1)
# How long an accepted API token is remembered (in CACHE_URL's cache) before its account
# is read again. Revocation, deactivation, a password or role change forget it at once
# (staff.signals); expiry is checked on every request.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 30, minimum=0)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Langzhong SI")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# req. 3: a session ends after this long without a person's own request; a screen's
# automatic refresh (X-Poll) does not count (staff.middleware).
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 20 * 60, minimum=60)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
# A person's own request extends the session (staff.middleware writes its time, so the
# session is saved, cookie and row), at most once a twentieth of SESSION_IDLE_SECONDS (a
# minute): a session ends 19 to 20 idle minutes after the last request; a screen's poll
# writes nothing: one UPDATE and commit less on most of the hall's requests.
SESSION_SAVE_EVERY_REQUEST = False
# Database sessions, read with one written-out statement (operations.sessions).
SESSION_ENGINE = "operations.sessions"
# How long a session read from the database is remembered in CACHE_URL's cache (every
# write goes to the row first and leaves a mark: operations.sessions). Only in Redis,
# which every process shares and where cache.add is atomic: otherwise 0, whatever is set.
SESSION_CACHE_SECONDS = env_int("SESSION_CACHE_SECONDS", 30, minimum=0) if _CACHE_IN_REDIS else 0
# req. 3: however active, a session ends this long after sign-in.
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 8 * 3600, minimum=60)

# Pushed screens (push.streams, served by the ASGI process at /events/): each stream asks
# its poll again at least this often (a person signed out or a device disabled stops
# being told within it), ends after PUSH_STREAM_SECONDS (the browser opens it again),
# sends `alive` every PUSH_HEARTBEAT_SECONDS (proxies close idle connections; the page
# stops trusting a stream silent for 2.5 times it); the browser waits PUSH_RETRY_SECONDS
# before opening a dropped stream again; one process holds at most PUSH_STREAMS_MAX
# (past it, screens keep polling).
PUSH_RECHECK_SECONDS = env_int("PUSH_RECHECK_SECONDS", 60, minimum=1)
PUSH_STREAM_SECONDS = env_int("PUSH_STREAM_SECONDS", 900, minimum=1)
PUSH_HEARTBEAT_SECONDS = env_int("PUSH_HEARTBEAT_SECONDS", 20, minimum=1)
PUSH_RETRY_SECONDS = env_int("PUSH_RETRY_SECONDS", 5, minimum=1)
PUSH_STREAMS_MAX = env_int("PUSH_STREAMS_MAX", 2000, minimum=0)
# Ready streams one person or device may hold in one process (a page has one or two
# polled screens): a new one ends their oldest. Polls asked at once, in threads of their own.
PUSH_STREAMS_PER_HOLDER = env_int("PUSH_STREAMS_PER_HOLDER", 6, minimum=1)
PUSH_ASK_THREADS = env_int("PUSH_ASK_THREADS", 4, minimum=1)

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Only what collectstatic gathered is served, as in production (the demo runs it first).
WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic also writes gzip copies, which WhiteNoise sends to browsers that take them.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# --- Security headers (hardened further by the security issue) ----------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed, for the
# throttles, rate limits, sign-in records and audit source IP alike (langzhong_si/
# clientip.py). Empty: the header is ignored and the peer address is the client.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES must list IP addresses or CIDR ranges, got {_proxy!r}"
        ) from None
if env_bool("BEHIND_TLS_PROXY", default=False):
    # The proxy terminates TLS and says so in this header; trust it only behind one.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "staff.api_access.StaffTokenAuthentication",
    ],
    "DEFAULT_PAGINATION_CLASS": "langzhong_si.api_pagination.StrictLimitOffsetPagination",
    # JSON only: scans are uploaded on the workbench screen, not through the API.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "langzhong_si.api.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "langzhong_si.ratelimit.ResilientAnonRateThrottle",
        "langzhong_si.ratelimit.ResilientScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_ANON_RATE", "120/minute"),
        # The citizen's ticket page operations (the look-up by case number counts
        # failures instead: PROGRESS_FAILURES_PER_*).
        "progress": env_str("API_PROGRESS_RATE", "20/hour"),
        "device": env_str("API_DEVICE_RATE", "600/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Langzhong service hall API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the vendored sidecar package: halls run on intranets, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "langzhong_si.api.add_common_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "counters.models.Ticket.Status",
        "CaseStatusEnum": "counters.models.Case.Status",
        "FindingResultEnum": ["no_issue", "error", "irregularity"],
    },
}

# --- Celery -------------------------------------------------------------------------------
_QUEUE_DIR = VAR_DIR / "celery"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_BROKER_VISIBILITY_TIMEOUT", 3600, minimum=1)
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in ("out", "processed"):
        (_QUEUE_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_QUEUE_DIR / "out"),
        "data_folder_out": str(_QUEUE_DIR / "out"),
        "processed_folder": str(_QUEUE_DIR / "processed"),
        # Exchange tables; kombu's default is ./control in whatever directory we run from.
        "control_folder": str(_QUEUE_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
        # How often a worker looks for messages whose worker died unacknowledged:
        # every interval × throttle seconds (kombu's defaults, 10 × 10).
        "unacked_restore_interval": env_int("CELERY_BROKER_RESTORE_INTERVAL", 10, minimum=1),
        "unacked_restore_throttle": env_int("CELERY_BROKER_RESTORE_THROTTLE", 10, minimum=1),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "langzhong")
# With the broker down a staff action must not hang: publishing fails fast and the
# outbox sweep sends the work once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is redelivered...
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ...even when the worker process dies
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# Workers and beat log through LOGGING below (JSON lines, the personal-data filter).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    # The audit chain's sequencer (commits also nudge it); a run left waiting in a
    # backed-up queue is dropped, the next one does its work.
    "audit-chain": {
        "task": "audit.tasks.chain_audit_log",
        "schedule": 1.0,
        "options": {"expires": 5},
    },
    "outbox-relay-sweep": {"task": "outbox.tasks.outbox_relay_sweep", "schedule": 15.0},
    # The continuous audit of the cases finished since its last run (commits also nudge it).
    "case-audits-drain": {
        "task": "inspection.tasks.case_audits_drain",
        "schedule": 2.0,
        "options": {"expires": 10},
    },
    "hall-dispatch-sweep": {"task": "counters.tasks.hall_dispatch_sweep", "schedule": 5.0},
    "cases-deferral-expire": {
        "task": "cases.tasks.cases_deferral_expire",
        "schedule": crontab(minute=5),
    },
    "review-tasks-redraw-overdue": {
        "task": "risk.tasks.review_tasks_redraw_overdue",
        "schedule": 60.0,
    },
    "review-tasks-warn-due-soon": {
        "task": "risk.tasks.review_tasks_warn_due_soon",
        "schedule": 300.0,
    },
    "audit-nightly": {"task": "audit.tasks.nightly_audit", "schedule": crontab(minute=30, hour=23)},
    "audit-head-export": {
        "task": "audit.tasks.export_audit_head",
        "schedule": crontab(minute=55, hour=23),
    },
    "daily-seeds-rotate": {
        "task": "draws.tasks.daily_seeds_rotate",
        "schedule": crontab(minute="*/10"),
    },
    # The day-before text of tomorrow's appointments (idempotent: each is sent once).
    "appointment-reminders": {
        "task": "appointments.tasks.appointment_reminders_send",
        "schedule": crontab(minute=0, hour="10,16"),
    },
    "appointment-no-shows": {
        "task": "appointments.tasks.appointment_no_shows_record",
        "schedule": crontab(minute="*/5"),
    },
    "recusal-reminders": {
        "task": "risk.tasks.recusal_reminders_send",
        "schedule": crontab(minute=0, hour=8),
    },
    # Upward reporting: deliveries whose retry is due, or whose attempt stalled.
    "reporting-retry-due": {
        "task": "reporting.tasks.reports_retry_due",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Beat's and a worker's signs of life for /readyz and the live hall.
    "operations-heartbeat": {
        "task": "operations.tasks.heartbeat",
        "schedule": float(env_int("HEARTBEAT_INTERVAL_SECONDS", 15, minimum=1)),
    },
    "operations-backup": {
        "task": "operations.tasks.backup_nightly",
        "schedule": crontab(minute=30, hour=1),
    },
    "operations-restore-drill": {
        "task": "operations.tasks.restore_drill_weekly",
        "schedule": crontab(minute=0, hour=3, day_of_week="sun"),
    },
    # Case files past their archive retention, listed for a two-person destruction decision.
    "operations-retention-review": {
        "task": "operations.tasks.retention_review_monthly",
        "schedule": crontab(minute=0, hour=4, day_of_month=1),
    },
}

# --- Domain settings ----------------------------------------------------------------------
# A drawn person is warned this many minutes before their step's time limit.
REVIEW_WARN_MINUTES = env_int("REVIEW_WARN_MINUTES", 60, minimum=1)
# The most open review/approval tasks one person may hold; full people are left out of draws.
REVIEW_OPEN_TASK_CAP = env_int("REVIEW_OPEN_TASK_CAP", 20, minimum=1)
# An outbox message the relay could not hand to the broker is sent by the sweep after this
# many seconds.
OUTBOX_RELAY_GRACE_SECONDS = env_int("OUTBOX_RELAY_GRACE_SECONDS", 10, minimum=1)
# An outbox message handed to the broker whose task has not marked it done within this
# many seconds is sent again by the sweep (a task lost with its worker, or failed after its
# retries). Longer than a broker backlog and a task's Celery retries, so that work still
# queued is not sent twice.
OUTBOX_REDELIVER_SECONDS = env_int(
    "OUTBOX_REDELIVER_SECONDS", 900, minimum=OUTBOX_RELAY_GRACE_SECONDS + 1
)
# An outbox message not done this long after its commit is no longer sent (its task
# fails for good): counted in langzhong_outbox_given_up, which alerts.
OUTBOX_GIVE_UP_SECONDS = env_int(
    "OUTBOX_GIVE_UP_SECONDS", 7200, minimum=OUTBOX_REDELIVER_SECONDS + 1
)
# Scanned materials: at most this many bytes per file, and pixels per image (a larger
# image is a decompression bomb, not a scan).
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10_000_000, minimum=100_000)
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 40_000_000, minimum=1_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1_000_000
# A citizen who cancelled this many tickets today is flagged on the next one (fishing
# for another clerk).
RETAKE_FLAG_AFTER_CANCELLATIONS = env_int("RETAKE_FLAG_AFTER_CANCELLATIONS", 2, minimum=1)
# A no-show is recorded only after the citizen was called again this many times (at most
# counters.services.MAX_RECALLS, 3).
NO_SHOW_MIN_RECALLS = env_int("NO_SHOW_MIN_RECALLS", 2, minimum=0)
# ... and only this many seconds after the first call, so a citizen on the way to the
# window is not sent away. A priority ticket (aged 70+, disabled) needs one more call.
NO_SHOW_MIN_WAIT_SECONDS = env_int("NO_SHOW_MIN_WAIT_SECONDS", 60, minimum=0)
# 容缺受理: working days to supply promised non-key materials (never past the case's date).
DEFERRED_MATERIALS_DAYS = env_int("DEFERRED_MATERIALS_DAYS", 5, minimum=1)
# 好差评 follow-ups of a bad rating: callback and written reply, in working days.
FOLLOW_UP_CALLBACK_DAYS = env_int("FOLLOW_UP_CALLBACK_DAYS", 1, minimum=1)
FOLLOW_UP_REPLY_DAYS = env_int("FOLLOW_UP_REPLY_DAYS", 15, minimum=1)
# 申诉: the rated clerk may appeal a bad rating within this many working days of it; the
# citizen may appeal its handling within this many working days of the reply.
RATING_APPEAL_DAYS = env_int("RATING_APPEAL_DAYS", 5, minimum=1)
HANDLING_APPEAL_DAYS = env_int("HANDLING_APPEAL_DAYS", 15, minimum=1)
# The public monthly results show a row's figures only from this many ratings up (fewer
# could point at one citizen and one clerk); ratings/selectors.py says why.
RATING_RESULTS_MIN_COUNT = env_int("RATING_RESULTS_MIN_COUNT", 5, minimum=1)
# Hall devices: a window's rating pad rates the service just finished there for this many
# minutes; a kiosk shows the slip it printed for this many seconds (then only the QR
# code's holder can open the ticket).
RATING_PAD_MINUTES = env_int("RATING_PAD_MINUTES", 5, minimum=1)
KIOSK_SLIP_SECONDS = env_int("KIOSK_SLIP_SECONDS", 120, minimum=30)
# The kiosk's slip screen goes back to the start screen after this many seconds, so the
# next person never finds the previous citizen's QR code on it.
KIOSK_RETURN_SECONDS = env_int("KIOSK_RETURN_SECONDS", 20, minimum=5)
if KIOSK_RETURN_SECONDS > KIOSK_SLIP_SECONDS:
    raise ImproperlyConfigured("KIOSK_RETURN_SECONDS must not exceed KIOSK_SLIP_SECONDS")
# The hall's opening hours on working days of the calendar (langzhong_si.calendar), local
# time, sessions separated by commas (the gap between them is the lunch break). Outside
# them the kiosk shows the next opening and no ticket is issued (screen and API alike).
# HALL_HOURS_ENFORCED=false issues tickets at any time (a demo in the evening).
HALL_HOURS = env_time_ranges("HALL_HOURS", "08:30-12:00,14:00-17:30")
HALL_HOURS_ENFORCED = env_bool("HALL_HOURS_ENFORCED", True)
# Appointments (appointments/): the opening hours are cut into slots of this many minutes;
# citizens book up to this many days ahead (today's later slots included).
APPOINTMENT_SLOT_MINUTES = env_int("APPOINTMENT_SLOT_MINUTES", 30, minimum=5)
APPOINTMENT_DAYS_AHEAD = env_int("APPOINTMENT_DAYS_AHEAD", 7, minimum=1)
# Checked in more than this many minutes after the slot began: the ticket is a walk-in's.
APPOINTMENT_LATE_MINUTES = env_int("APPOINTMENT_LATE_MINUTES", 15, minimum=0)
# Not checked in this many minutes after the slot ended: recorded as a no-show.
APPOINTMENT_NO_SHOW_GRACE_MINUTES = env_int("APPOINTMENT_NO_SHOW_GRACE_MINUTES", 30, minimum=0)
# The public booking page: bookings per client address, and failed cancellations per
# client and per booking code, within the window.
APPOINTMENT_BOOKINGS_PER_CLIENT = env_int("APPOINTMENT_BOOKINGS_PER_CLIENT", 10, minimum=1)
APPOINTMENT_CANCEL_FAILURES = env_int("APPOINTMENT_CANCEL_FAILURES", 10, minimum=1)
APPOINTMENT_RATE_WINDOW_SECONDS = env_int("APPOINTMENT_RATE_WINDOW_SECONDS", 3600, minimum=60)
# Share of finished cases drawn for manual re-inspection, by risk level 0-3 (percent).
AUDIT_SAMPLE_RATES = {
    level: int(percent) / 100
    for level, percent in enumerate(env_list("AUDIT_SAMPLE_RATES", ["5", "10", "20", "50"]))
}
if len(AUDIT_SAMPLE_RATES) != 4:
    raise ImproperlyConfigured("AUDIT_SAMPLE_RATES needs four percentages, for levels 0-3")
# The citizen's progress look-up (case number + last 4 of the ID number) counts only
# failures, per case number (stops guessing one case's suffix from many addresses) and
# per client (stops one address trying many cases), within a window; successful
# look-ups never count.
PROGRESS_FAILURES_PER_CASE = env_int("PROGRESS_FAILURES_PER_CASE", 10, minimum=1)
PROGRESS_FAILURES_PER_CLIENT = env_int("PROGRESS_FAILURES_PER_CLIENT", 20, minimum=1)
PROGRESS_FAILURE_WINDOW_SECONDS = env_int("PROGRESS_FAILURE_WINDOW_SECONDS", 3600, minimum=60)
# Dotted path of the SMS gateway class (see langzhong_si/sms.py); the default only logs.
SMS_GATEWAY = env_str("SMS_GATEWAY", "langzhong_si.sms.LoggingSmsGateway")
# Hall devices (README, "Hall devices"): the local device bridge the kiosk's and the
# counter's pages talk to (ID-card reader, social-security-card QR scanner, signature pad,
# document camera). Only a loopback address: the bridge runs on the screen's own machine,
# and the Content-Security-Policy lets pages connect to this one address, nothing broader.
# Empty: no bridge (the pages keep their typed entry only).
DEVICE_BRIDGE_URL = env_str("DEVICE_BRIDGE_URL", "ws://127.0.0.1:17321")
if DEVICE_BRIDGE_URL:
    from urllib.parse import urlsplit

    _bridge = urlsplit(DEVICE_BRIDGE_URL)
    if (
        _bridge.scheme not in ("ws", "wss")
        or _bridge.hostname not in ("127.0.0.1", "localhost", "::1")
        or _bridge.path not in ("", "/")
        or _bridge.query
    ):
        raise ImproperlyConfigured(
            "DEVICE_BRIDGE_URL must be ws://127.0.0.1:<port> (a loopback WebSocket address)"
        )
# The electronic social-security card's QR code is verified by this class (devices/essc.py):
# the provincial platform's service in production; the demo and tests use the simulator's
# HMAC signature under ESSC_DEMO_KEY, which production refuses.
ESSC_QR_VERIFIER = env_str("ESSC_QR_VERIFIER", "devices.essc.PlatformQrVerifier")
# Failed QR verifications a clerk or a kiosk may have within the window before every code
# from it is refused until the window ends (verified codes never count).
ESSC_VERIFY_FAILURES = env_int("ESSC_VERIFY_FAILURES", 20, minimum=1)
ESSC_VERIFY_WINDOW_SECONDS = env_int("ESSC_VERIFY_WINDOW_SECONDS", 600, minimum=60)
ESSC_PLATFORM_URL = env_str("ESSC_PLATFORM_URL", "")
ESSC_PLATFORM_APP_ID = env_str("ESSC_PLATFORM_APP_ID", "")
ESSC_PLATFORM_APP_SECRET = env_str("ESSC_PLATFORM_APP_SECRET", "")
ESSC_PLATFORM_TIMEOUT_SECONDS = env_int("ESSC_PLATFORM_TIMEOUT_SECONDS", 5, minimum=1)
ESSC_DEMO_KEY = env_str("ESSC_DEMO_KEY", "langzhong-demo-essc-signing-key")
if PRODUCTION and ESSC_QR_VERIFIER == "devices.essc.SimulatorQrVerifier":
    raise ImproperlyConfigured("ESSC_QR_VERIFIER must not be the simulator's in production")
# Key for keyed hashes (look-ups) and encryption of personal data at rest.
PERSONAL_DATA_KEY = env_str("PERSONAL_DATA_KEY", SECRET_KEY)
# Rotation (README): the previous keys, still accepted for decryption until
# `manage.py rotate_personal_data_key` has re-encrypted everything under the new one.
PERSONAL_DATA_OLD_KEYS = env_list("PERSONAL_DATA_OLD_KEYS", [])
# The keyed hash for look-ups (applicants, relatives) is not rotated with the
# encryption key: the relatives' register holds only hashes and could not be rebuilt.
PERSONAL_DATA_HASH_KEY = env_str("PERSONAL_DATA_HASH_KEY", PERSONAL_DATA_KEY)
# Each day's draw commitment is also written here (a file per day), like the audit heads:
# keep the folder off the database host; verify_draws compares it with the database.
DRAW_COMMITMENT_DIR = Path(env_str("DRAW_COMMITMENT_DIR", str(VAR_DIR / "draw-commitments")))
# Staff re-confirm their own ID number and relatives (recusal) at least this often.
RECUSAL_CONFIRM_DAYS = env_int("RECUSAL_CONFIRM_DAYS", 365, minimum=1)
ID_NUMBER_MASK_HEAD = 6
ID_NUMBER_MASK_TAIL = 4
# The hall as guides, receipts and result papers name it (langzhong_si.hall; the hours
# come from the opening hours there). 12333: the national social-insurance hotline.
HALL_ADDRESS = env_str("HALL_ADDRESS", "阆中市社会保险事业管理局服务大厅")
HALL_PHONE = env_str("HALL_PHONE", "12333")

# --- Upward reporting (README: "Upward reporting") ------------------------------------
# off: nothing is recorded or sent; http: a signed JSON POST to each platform; file: one
# JSON line per report dropped into REPORTING_FILE_DIR for a gateway to carry over.
REPORTING_TRANSPORT = env_str("REPORTING_TRANSPORT", "off")
if REPORTING_TRANSPORT not in {"off", "http", "file"}:
    raise ImproperlyConfigured(
        f"REPORTING_TRANSPORT must be off, http or file, got {REPORTING_TRANSPORT!r}"
    )
# The agency as the platforms know it: the first part of every idempotency key.
REPORTING_SENDER_ID = env_str("REPORTING_SENDER_ID", "langzhong-si")
if not 1 <= len(REPORTING_SENDER_ID) <= 64:
    raise ImproperlyConfigured("REPORTING_SENDER_ID must have 1 to 64 characters")
REPORTING_URLS = {
    "ratings": env_str("REPORTING_RATINGS_URL", ""),
    "cases": env_str("REPORTING_CASES_URL", ""),
}
# The key shared with the platforms for the requests' HMAC signature (never in the repo).
REPORTING_SIGNING_KEY = env_str("REPORTING_SIGNING_KEY", "")
if REPORTING_TRANSPORT == "http":
    if not all(url.startswith(("https://", "http://")) for url in REPORTING_URLS.values()):
        raise ImproperlyConfigured(
            "REPORTING_RATINGS_URL and REPORTING_CASES_URL must be http(s) URLs"
        )
    if len(REPORTING_SIGNING_KEY) < 32:
        raise ImproperlyConfigured("REPORTING_SIGNING_KEY must have at least 32 characters")
REPORTING_FILE_DIR = Path(env_str("REPORTING_FILE_DIR", str(VAR_DIR / "reporting")))
REPORTING_TIMEOUT_SECONDS = env_int("REPORTING_TIMEOUT_SECONDS", 10, minimum=1)
# Retries: after the nth failure the next try waits BACKOFF × 2^(n-1) seconds, at most
# BACKOFF_MAX; after MAX_ATTEMPTS failures (or at once when the platform refuses the
# report with a 4xx) the delivery is a dead letter, for the team lead to resend.
REPORTING_BACKOFF_SECONDS = env_int("REPORTING_BACKOFF_SECONDS", 30, minimum=1)
REPORTING_BACKOFF_MAX_SECONDS = env_int("REPORTING_BACKOFF_MAX_SECONDS", 3600, minimum=1)
REPORTING_MAX_ATTEMPTS = env_int("REPORTING_MAX_ATTEMPTS", 8, minimum=1)

# --- Operations (README: "Operating the hall") --------------------------------------------
# /readyz: a worker and beat must have shown a heartbeat within this many seconds; the
# outbox backlog and the audit chain's unchained events must stay within these limits.
HEARTBEAT_MAX_AGE_SECONDS = env_int("HEARTBEAT_MAX_AGE_SECONDS", 60, minimum=5)
OUTBOX_BACKLOG_LIMIT = env_int("OUTBOX_BACKLOG_LIMIT", 100, minimum=0)
AUDIT_CHAINING_LAG_LIMIT = env_int("AUDIT_CHAINING_LAG_LIMIT", 1000, minimum=0)
# /metrics answers only these addresses (CIDR ranges allowed) or a bearer token; neither
# set: nobody (it answers 404).
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", [])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS must list IP addresses or CIDR ranges, got {_network!r}"
        ) from None
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Probes and the scrape reach the web process directly over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Backups (manage.py backup, nightly by beat) and the weekly restore drill.
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(VAR_DIR / "backups")))
# The scratch database a drill restores into (default: "<database name>_restore_drill"
# on the same server; the role needs CREATEDB there).
RESTORE_DRILL_DATABASE = env_str("RESTORE_DRILL_DATABASE", "")
# The drill's maintenance connection: a role allowed to create databases, on a scratch
# server, e.g. postgres://drill:secret@drill-db:5432/postgres. The application's own
# login cannot create databases (manage.py db_roles), so production sets this; empty:
# the application's connection to the "postgres" database of its own server.
DRILL_DATABASE_URL = env_str("DRILL_DATABASE_URL", "")
DRILL_DATABASE = dj_database_url.parse(DRILL_DATABASE_URL) if DRILL_DATABASE_URL else None
RESTORE_DRILL_KEY_SAMPLE = env_int("RESTORE_DRILL_KEY_SAMPLE", 20, minimum=1)
# The live hall turns red when no drill has passed within this many days.
RESTORE_DRILL_MAX_AGE_DAYS = env_int("RESTORE_DRILL_MAX_AGE_DAYS", 8, minimum=1)
# One JSON object per line (operations.logs) or the plain text format.
LOG_FORMAT = env_str("LOG_FORMAT", "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "operations.logs.JsonFormatter"},
    },
    "filters": {
        "personal_data": {"()": "langzhong_si.logfilter.PersonalDataFilter"},
        "refusal": {"()": "langzhong_si.logfilter.RefusalFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["personal_data", "refusal"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
