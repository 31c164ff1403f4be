"""AIRM Curator settings: one module, driven by the environment.

Every setting that differs between a laptop, CI and production is read from an environment
variable; the defaults give a working development site on an embedded SQLite database.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production-0123456789"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_filters",
    "simple_history",
    "import_export",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks_db",
    "django.contrib.sitemaps",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "catalog",
    "catalog.releases",
    "review",
    "review.campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "airm_site.middleware.PermissionsPolicyMiddleware",
    # Before anything reads a cookie, a parameter or the body (see airm_site/middleware.py).
    "airm_site.middleware.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "airm_site.middleware.RememberRolesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "airm_site.middleware.RequireMFAMiddleware",
]

ROOT_URLCONF = "airm_site.urls"

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
                "review.context_processors.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "airm_site.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so two concurrent writers queue
    # instead of failing with "database is locked" halfway through a transaction. WAL lets the
    # web server read while the worker holds a long write transaction (an import).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

# --------------------------------------------------------------------------- shared state
# Nothing a request needs may live only on the server that answered the previous request:
# caches (and with them django-allauth's login rate limits), sessions, background tasks and
# uploads awaiting confirmation are all kept where every app server and worker reaches them.

# Caches: the database (table ``airm_cache``, created by ``migrate``) unless REDIS_URL names a
# Redis server, e.g. redis://127.0.0.1:6379/0.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "airm")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "airm_site.cache.DatabaseCache",
            "LOCATION": "airm_cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # Pages are kept compressed (about 15 KB each): 5,000 entries is some 75 MB; the
            # table is culled by a third when fuller, checked once every 50 writes.
            "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("CACHE_MAX_ENTRIES", "5000"))},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Background work (Django's Tasks framework): tasks wait in the database until a worker,
# ``python manage.py db_worker``, runs them (see README, "Deploying").
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A running job whose worker (on another host) has not reported for this long counts as
# stalled and may be retried; a worker on this host is checked directly.
JOB_STALLED_AFTER = int(os.environ.get("JOB_STALLED_AFTER", "120"))

# Files. Static files: collected, with hashed and compressed names, served by WhiteNoise.
# Uploads awaiting confirmation ("uploads"): a private folder (mode 0700, never served) under
# IMPORT_UPLOAD_DIR; or the database (UPLOADS_STORAGE=database); or an S3-compatible bucket
# when UPLOADS_S3_BUCKET is set (credentials from the standard AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY environment variables).
IMPORT_UPLOAD_DIR = Path(
    os.environ.get("IMPORT_UPLOAD_DIR") or Path(tempfile.gettempdir()) / "airm-curator-imports"
)
UPLOADS_S3_BUCKET = os.environ.get("UPLOADS_S3_BUCKET", "")
if UPLOADS_S3_BUCKET:
    UPLOADS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": UPLOADS_S3_BUCKET,
            "endpoint_url": os.environ.get("UPLOADS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("UPLOADS_S3_REGION") or None,
            "location": os.environ.get("UPLOADS_S3_PREFIX", "airm-uploads"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif os.environ.get("UPLOADS_STORAGE", "folder") == "database":
    # In the database itself: several app servers need nothing shared but the database.
    UPLOADS_STORAGE = {"BACKEND": "catalog.imports.uploads.DatabaseStorage"}
else:
    # IMPORT_UPLOAD_DIR, mode 0700, checked to be this user's alone (catalog/imports/uploads.py).
    UPLOADS_STORAGE = {"BACKEND": "catalog.imports.uploads.PrivateFolderStorage"}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    "uploads": UPLOADS_STORAGE,
}

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

# Email: printed to the console in development (decoded, so that links are whole: see
# airm_site/mail.py); with DEBUG off, SMTP (configured by EMAIL_HOST, EMAIL_PORT,
# EMAIL_HOST_USER, EMAIL_HOST_PASSWORD and EMAIL_USE_TLS). EMAIL_BACKEND overrides.
EMAIL_BACKEND_PATH = os.environ.get("EMAIL_BACKEND") or (
    "airm_site.mail.ConsoleEmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend"
)
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH == "django.core.mail.backends.smtp.EmailBackend":
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", "25")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "AIRM Curator <noreply@localhost>")

# Uploads: bounded, and kept in a private temporary folder, never under a served path.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_TEMP_DIR = os.environ.get("FILE_UPLOAD_TEMP_DIR") or None
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(20 * 1024 * 1024)))
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "200000"))
# Hostile files (see docs/security.md): the most columns an import reads, and the most bytes one
# part of an XLSX workbook (the sheet, the shared strings) may unpack to while it is streamed.
IMPORT_MAX_COLUMNS = int(os.environ.get("IMPORT_MAX_COLUMNS", "100"))
# (unset: 5 × IMPORT_MAX_BYTES)
IMPORT_MAX_UNPACKED_BYTES = int(os.environ.get("IMPORT_MAX_UNPACKED_BYTES", "0")) or None
# Spreadsheets awaiting confirmation wait in the "uploads" storage (above); each upload is
# deleted once applied, cancelled or expired (IMPORT_PREVIEW_HOURS).
IMPORT_PREVIEW_HOURS = int(os.environ.get("IMPORT_PREVIEW_HOURS", "24"))

# Security headers. With DEBUG off these default to a production (HTTPS) deployment;
# each can be relaxed from the environment, e.g. behind a TLS-terminating proxy.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A load balancer's health probe may speak plain HTTP to the app server.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy (Django's own, django.middleware.csp): scripts and styles only from
# the site's own static files, never inline (a test scans every page for inline script);
# images may also be data: URLs (the authenticator QR code). See docs/security.md.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Permissions-Policy (airm_site.middleware): the browser features pages may use; none but
# security keys for two-factor sign-in, when those are on.
MFA_WEBAUTHN = env_bool("MFA_WEBAUTHN", False)
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "browsing-topics",
    )
} | {
    "publickey-credentials-get": ["self"] if MFA_WEBAUTHN else [],
    "publickey-credentials-create": ["self"] if MFA_WEBAUTHN else [],
}

# Templates other apps add to a mitigation's page (each rendered with ``mitigation`` in context),
# so that catalog pages can show, e.g., review actions without catalog importing review.
CATALOG_MITIGATION_PANELS: list[str] = [
    "review/includes/_mitigation_panel.html",
    "releases/includes/_mitigation_releases.html",  # which releases hold it; how to cite one
]
# What a record's page shows besides the catalog (the panels' proposals): functions whose
# result changes with that state, part of the page's ETag and cache key (catalog/page_cache.py).
CATALOG_RECORD_PAGE_DEPENDS_ON: list[str] = ["review.selectors.proposal_state_token"]
# How long a browser or CDN may keep an anonymous reader's copy of a public page (seconds);
# after that it asks again with the ETag and gets a 304 while the catalog is unchanged.
CATALOG_PAGE_MAX_AGE = int(os.environ.get("CATALOG_PAGE_MAX_AGE", "60"))
# Names the deployed code in cache keys and ETags (catalog/version.py); unset, a digest of the
# code, templates and static files, so a deploy that changes a page starts new keys by itself.
CODE_FINGERPRINT = os.environ.get("CODE_FINGERPRINT", "")

SIMPLE_HISTORY_REVERT_DISABLED = True  # reverting from the admin would bypass the services

# Logs go to standard output (the process manager or container runtime keeps them).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"}
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["stdout"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        # Background work says what it starts, finishes and why it failed.
        name: {"level": os.environ.get("TASKS_LOG_LEVEL", "INFO")}
        for name in ("django.tasks", "django_tasks_db", "catalog.jobs")
    },
}

# Accounts (django-allauth): sign up with email and password, the address confirmed by a link
# (printed to the console in development), sign in with username or email, password reset.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[AIRM Curator] "
ACCOUNT_FORMS = {"login": "review.account_forms.LoginForm"}
# Throttling (django-allauth, counted in the default cache, so shared by every worker and app
# server when the cache is): failed sign-ins 10 a minute per address and 5 per 5 minutes per
# account (second-factor codes count as failed sign-ins too), sign-ins 30 a minute per address.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
}
# Two-factor sign-in (django-allauth MFA) for everyone, at /accounts/2fa/: an authenticator
# app (TOTP) with recovery codes; security keys (WebAuthn) too with MFA_WEBAUTHN=1 (HTTPS).
# REQUIRE_MFA_FOR_STAFF=1 sends curators and admins without a second factor to set one up
# before anything else (airm_site.middleware.RequireMFAMiddleware).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", *(["webauthn"] if MFA_WEBAUTHN else [])]
MFA_TOTP_ISSUER = "AIRM Curator"
MFA_TOTP_TOLERANCE = 1  # the code of the 30 seconds before or after counts too (clock drift)
REQUIRE_MFA_FOR_STAFF = env_bool("REQUIRE_MFA_FOR_STAFF", False)

# Review: how many distinct curators must approve a proposal, in general and per kind
# (new, edit, reclassify, retire, merge). Environment: REVIEW_REQUIRED_APPROVALS=1 and
# REVIEW_REQUIRED_APPROVALS_BY_KIND="merge=2,retire=2".
REVIEW_REQUIRED_APPROVALS = int(os.environ.get("REVIEW_REQUIRED_APPROVALS", "1"))
REVIEW_REQUIRED_APPROVALS_BY_KIND = {
    kind.strip(): int(count)
    for kind, _, count in (
        item.partition("=") for item in env_list("REVIEW_REQUIRED_APPROVALS_BY_KIND", "")
    )
    if kind.strip() and count.strip()
}
# The most proposals one contributor's spreadsheet may make (its new and changed rows; see
# review/bulk.py); the file limits are IMPORT_MAX_BYTES and IMPORT_MAX_ROWS as for imports.
REVIEW_BULK_MAX_PROPOSALS = int(os.environ.get("REVIEW_BULK_MAX_PROPOSALS", "500"))
# The address links in notification emails start with; by default the development server's
# own, on PORT (which `make run` passes on, so `PORT=8080 make run` links to port 8080).
SITE_URL = (
    os.environ.get("SITE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}"
).rstrip("/")

# The read API (/api/v1/, catalog/api/): Django REST framework, JSON only, described by an
# OpenAPI 3 schema (drf-spectacular; Swagger UI and Redoc served from the sidecar package's
# static files, nothing from the internet). Anonymous clients are throttled per address through
# the cache (API_THROTTLE_ANON, e.g. "120/minute"; signed-in users API_THROTTLE_USER; an empty
# value turns a throttle off). Any origin may read it (CORS, GET only, no credentials).
API_THROTTLE_ANON = os.environ.get("API_THROTTLE_ANON", "120/minute")
API_THROTTLE_USER = os.environ.get("API_THROTTLE_USER", "600/minute")
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "catalog.api.negotiation.JSONOnly",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [
        "catalog.api.throttling.AnonymousThrottle",
        "catalog.api.throttling.UserThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "catalog.api.schema.CatalogAutoSchema",
    "EXCEPTION_HANDLER": "catalog.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AIRM Curator API",
    "DESCRIPTION": (
        "Read-only access to the catalog of AI risk mitigations: records with their "
        "classifications and history, taxonomies, source documents and the coverage matrix. "
        "The mitigation list takes the same filter, search and sort parameters as the "
        "public list page `/mitigations/` and returns the same records in the same order."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema lists today's taxonomies and sources as parameter values, so building it
    # reads the database: not something `check --deploy` can do before `migrate`. The test
    # suite builds and checks the schema instead (tests/catalog/api/).
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
}
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified", "Retry-After", "Link"]
