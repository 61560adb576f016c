"""vidu_web settings: one file, every knob from the environment.

Each variable is read through a small helper that raises ImproperlyConfigured naming the
variable when its value is wrong, so a typo stops start-up instead of being guessed at.
"""

import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from vidu_web.vidu.client import AUTH_SCHEMES, PRESETS

# "Name <addr@host>" or "addr@host": enough to catch a typo, not a full RFC 5322 parser.
_re_email = re.compile(r"[^<>@\s]+@[^<>@\s]+|[^<>@]*<[^<>@\s]+@[^<>@\s]+>")

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules or os.environ.get("VIDU_WEB_TESTING") == "1"


def envstr(name, default=""):
    return os.environ.get(name, default).strip()


def envbool(name, default):
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name, default, minimum=None, maximum=None):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, not {number}")
    return number


def envurl(name, schemes):
    value = envstr(name)
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise ImproperlyConfigured(f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, not {value!r}")
    return value


def database_from_url(url):
    """A DATABASES entry from DATABASE_URL (postgres://user:pass@host:port/name or sqlite:///path)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path[1:]) or str(BASE_DIR / "db.sqlite3")}
    if not parts.path.strip("/"):
        raise ImproperlyConfigured("DATABASE_URL must name a database, e.g. postgres://user@127.0.0.1:5432/vidu_web")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.strip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": options.pop("test_name", None)},
    }


DEBUG = envbool("DJANGO_DEBUG", False)
SECRET_KEY = envstr("DJANGO_SECRET_KEY")
# Commands that only read the code (no request, no session, nothing signed) need no key, so a
# check such as `manage.py makemigrations --check` runs anywhere; everything else refuses below.
CODE_ONLY_COMMANDS = ("makemigrations", "showmigrations", "sqlmigrate")
if not SECRET_KEY and not DEBUG and sys.argv[0].endswith("manage.py") and sys.argv[1:2] and \
        sys.argv[1] in CODE_ONLY_COMMANDS:
    SECRET_KEY = "unused: code-only commands sign nothing"
if not SECRET_KEY and not (DEBUG or TESTING):
    # In production every host must sign with the same key: a key file made per host would
    # sign a session out as soon as a request lands on another host.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (the same long random value on every host), "
        "e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(50))'")
if not SECRET_KEY:
    # Like linkding: without DJANGO_SECRET_KEY a random key is made once and kept beside the
    # project (git ignores it), so sessions survive restarts and every process shares it.
    # Development and tests only (see above).
    _key_file = BASE_DIR / ".secret_key"
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()
# Comma-separated; production lists its public host names here.
ALLOWED_HOSTS = [h.strip() for h in envstr("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    # django-csp: the Content-Security-Policy header (settings below); as an app for its checks.
    "csp",
    # Before django_q: its `qcluster` command is ours (vidu_web/studio/cluster.py).
    "vidu_web.studio",
    "django_q",
    "vidu_web.teams",
    "axes",
]

MIDDLEWARE = [
    # First: every line logged while a request is handled carries its id (vidu_web/request_id.py).
    "vidu_web.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "vidu_web.headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "vidu_web.teams.middleware.CurrentTeamMiddleware",
    # With DEBUG on (`make run`), our own 404/500 pages instead of Django's technical ones.
    "vidu_web.error_pages.AppErrorPages",
    # Last (axes asks for it): turns a sign-in refused for a lock into the "locked" page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "vidu_web.urls"
WSGI_APPLICATION = "vidu_web.wsgi.application"

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
                "vidu_web.teams.context_processors.teams",
            ],
        },
    },
]

DATABASE_URL = envurl("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    # SQLite in WAL mode with a busy timeout: the web server and the cluster write concurrently.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "create"
LOGOUT_REDIRECT_URL = "login"

# --- sign-in throttling (django-axes; README "Sign-in throttling") -----------------------------
# Every password check goes through authenticate(request, ...): the sign-in form, the admin's,
# and password change's old password (vidu_web/teams/accounts.py). The first backend refuses a
# locked username or address before any password is checked.
AUTHENTICATION_BACKENDS = ["vidu_web.teams.throttle.ThrottleBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "vidu_web.teams.throttle.ThrottleHandler"  # axes' database handler, with two limits
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = 5  # failed passwords for one username...
AXES_ADDRESS_FAILURE_LIMIT = 30  # ...or from one address (an office shares one): ours, see throttle.py
AXES_COOLOFF_TIME = timedelta(minutes=15)  # ...within this long lock it for this long
# A try while locked (the right password too) is refused but doesn't restart the 15 minutes, so
# the locked page can say when to come back.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "vidu_web.teams.throttle.client_address"
# Said here, not left to axes' lazy default: the error pages' redaction reads every setting as text.
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_CALLABLE = "vidu_web.teams.throttle.locked_out"
# axes keeps each failed request's form data for the admin: never a password.
AXES_SENSITIVE_PARAMETERS = ["password", "old_password", "new_password1", "new_password2", "password1",
                             "password2", "csrfmiddlewaretoken"]

# --- email: invitations and password reset ---------------------------------------------------
# Off unless EMAIL_HOST is set (SMTP) or DEBUG is on (`make run`: mails are printed on the
# console). Without email there is no password reset and invitations are only links to copy.
EMAIL_HOST = envstr("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = envint("EMAIL_PORT", 587, 1, 65535)
    EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
    if bool(EMAIL_HOST_USER) != bool(EMAIL_HOST_PASSWORD):
        raise ImproperlyConfigured(
            f"{'EMAIL_HOST_PASSWORD' if EMAIL_HOST_USER else 'EMAIL_HOST_USER'} must be set along with "
            f"{'EMAIL_HOST_USER' if EMAIL_HOST_USER else 'EMAIL_HOST_PASSWORD'}")
    EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
    if EMAIL_USE_SSL and EMAIL_USE_TLS:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL can't both be on: TLS is STARTTLS (587), SSL is 465")
    EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10, 1, 120)  # a sign-up or reset waits on it
else:
    for _name in ("EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "EMAIL_USE_SSL",
                  "EMAIL_TIMEOUT"):
        if envstr(_name):
            raise ImproperlyConfigured(f"{_name} is set but EMAIL_HOST is not: set EMAIL_HOST to send email")
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_ENABLED = bool(EMAIL_HOST) or DEBUG
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Vidu Studio <noreply@localhost>")
if not _re_email.fullmatch(DEFAULT_FROM_EMAIL):
    raise ImproperlyConfigured(f"DEFAULT_FROM_EMAIL must be an address, e.g. Studio <studio@example.com>, not {DEFAULT_FROM_EMAIL!r}")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Password reset requests per hour: for one address typed in the form, and from one client.
PASSWORD_RESET_PER_EMAIL = 3
PASSWORD_RESET_PER_CLIENT = 10

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- production: web server port, static files, media storage ---------------------------------
# `make serve` (deploy/gunicorn.conf.py) binds to PORT; checked here too so that every process
# started with a bad one says so by name.
PORT = envint("PORT", 8000, 1, 65535)
STATIC_URL = "static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT") or BASE_DIR / "staticfiles")
if not STATIC_ROOT.is_absolute():
    raise ImproperlyConfigured(f"STATIC_ROOT must be an absolute path, not {str(STATIC_ROOT)!r}")
STATICFILES_DIRS = [BASE_DIR / "static"]
# With DEBUG off, static URLs come from the manifest `collectstatic` writes (`make serve` runs it).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(envstr("MEDIA_ROOT") or BASE_DIR / "media")
if not MEDIA_ROOT.is_absolute():
    raise ImproperlyConfigured(f"MEDIA_ROOT must be an absolute path, not {str(MEDIA_ROOT)!r}")
# Media is served by our own view after an access check, never by a public URL.
MEDIA_URL = "/media/"
# On the filesystem, the media view hands the file to nginx through this internal location
# (X-Accel-Redirect) instead of streaming it from a web thread; see deploy/nginx.conf.
MEDIA_ACCEL_PREFIX = envstr("MEDIA_ACCEL_PREFIX")
if MEDIA_ACCEL_PREFIX and not (MEDIA_ACCEL_PREFIX.startswith("/") and MEDIA_ACCEL_PREFIX.endswith("/")):
    raise ImproperlyConfigured(f"MEDIA_ACCEL_PREFIX must start and end with '/', e.g. /_media/, not {MEDIA_ACCEL_PREFIX!r}")


def s3_storage(bucket, endpoint_url="", region="", access_key="", secret_key="", url_seconds=900):
    """The STORAGES entry for an S3-compatible bucket (django-storages), private, presigned URLs.

    Timeouts and retries are bounded so that an unreachable bucket fails a copy (retried later
    by the pipeline) within seconds rather than hanging an archive worker.
    """
    from botocore.config import Config

    return {
        "BACKEND": "vidu_web.studio.storage.MediaS3Storage",  # page links go through /media/ (storage.py)
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "default_acl": None,  # the bucket's own (private) policy; objects are never public
            "querystring_auth": True,
            "querystring_expire": url_seconds,
            "file_overwrite": False,
            # With client_config, django-storages takes signing and addressing from it alone.
            # SigV4 links (X-Amz-Expires); path-style for S3-compatible servers (MinIO, Ceph, moto).
            "client_config": Config(signature_version="s3v4", s3={"addressing_style": "path"} if endpoint_url else None,
                                    connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}),
        },
    }


S3_BUCKET = envstr("S3_BUCKET")
if S3_BUCKET:
    import re as _re

    if not _re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", S3_BUCKET):
        raise ImproperlyConfigured(f"S3_BUCKET must be a bucket name (3-63 of a-z, 0-9, '.', '-'), not {S3_BUCKET!r}")
    S3_REGION = envstr("S3_REGION")
    if S3_REGION and not _re.fullmatch(r"[a-z0-9-]{2,40}", S3_REGION):
        raise ImproperlyConfigured(f"S3_REGION must be a region name like eu-west-1, not {S3_REGION!r}")
    _key_id, _key_secret = envstr("AWS_ACCESS_KEY_ID"), envstr("AWS_SECRET_ACCESS_KEY")
    # Both or neither (neither: boto3 finds credentials itself, e.g. an instance role).
    if bool(_key_id) != bool(_key_secret):
        raise ImproperlyConfigured(
            f"{'AWS_SECRET_ACCESS_KEY' if _key_id else 'AWS_ACCESS_KEY_ID'} must be set along with "
            f"{'AWS_ACCESS_KEY_ID' if _key_id else 'AWS_SECRET_ACCESS_KEY'}")
    S3_ENDPOINT_URL = envurl("S3_ENDPOINT_URL", ("http", "https"))
    STORAGES["default"] = s3_storage(
        S3_BUCKET, S3_ENDPOINT_URL, S3_REGION, _key_id, _key_secret,
        # How long a presigned media link works: long enough to watch and seek a video, short
        # enough that a copied link soon stops working.
        envint("S3_URL_SECONDS", 900, 60, 43200))
else:
    for _name in ("S3_ENDPOINT_URL", "S3_REGION", "S3_URL_SECONDS"):
        if envstr(_name):
            raise ImproperlyConfigured(f"{_name} is set but S3_BUCKET is not: set S3_BUCKET to store media on S3")
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_BYTES = 20 * 1024 * 1024  # per input image
# The most images a mode takes (keyframes: a start image and 9 keys; a test keeps it equal to the catalog's).
UPLOAD_MAX_FILES = 10
# A create with the most and largest images, plus its form fields; a larger request keeps no file.
UPLOAD_MAX_REQUEST_BYTES = UPLOAD_MAX_FILES * UPLOAD_MAX_BYTES + 1024 * 1024
# The capped handler skips files past the caps and says why in the form; past this many file
# parts Django answers 400 before any handler runs.
DATA_UPLOAD_MAX_NUMBER_FILES = 100
FILE_UPLOAD_HANDLERS = [
    "vidu_web.studio.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Vidu ------------------------------------------------------------------------------------
VIDU_PROVIDER = envstr("VIDU_PROVIDER", "sandbox")
if VIDU_PROVIDER not in PRESETS:
    raise ImproperlyConfigured(f"VIDU_PROVIDER must be one of {', '.join(PRESETS)}, not {VIDU_PROVIDER!r}")
VIDU_API_KEY = envstr("VIDU_API_KEY")
if not VIDU_API_KEY:
    if VIDU_PROVIDER != "sandbox":
        raise ImproperlyConfigured(f"VIDU_API_KEY must be set for VIDU_PROVIDER={VIDU_PROVIDER}")
    VIDU_API_KEY = "sandbox-key"
VIDU_BASE_URL = envurl("VIDU_BASE_URL", ("http", "https"))
if not VIDU_BASE_URL and VIDU_PROVIDER == "sandbox":
    VIDU_BASE_URL = f"http://127.0.0.1:{envint('SANDBOX_PORT', 8765, 1, 65535)}"
VIDU_PATH_PREFIX = envstr("VIDU_PATH_PREFIX")
if VIDU_PATH_PREFIX and not VIDU_PATH_PREFIX.startswith("/"):
    raise ImproperlyConfigured(f"VIDU_PATH_PREFIX must start with '/', not {VIDU_PATH_PREFIX!r}")
VIDU_AUTH_SCHEME = envstr("VIDU_AUTH_SCHEME")
if VIDU_AUTH_SCHEME and VIDU_AUTH_SCHEME not in AUTH_SCHEMES:
    raise ImproperlyConfigured(f"VIDU_AUTH_SCHEME must be one of {', '.join(AUTH_SCHEMES)}, not {VIDU_AUTH_SCHEME!r}")
VIDU_CALLBACK_BASE_URL = envurl("VIDU_CALLBACK_BASE_URL", ("http", "https")).rstrip("/")
SANDBOX_MODE = VIDU_PROVIDER == "sandbox"

# --- django-q2 -------------------------------------------------------------------------------
REDIS_URL = envurl("REDIS_URL", ("redis", "rediss", "unix"))
Q_CLUSTER = {
    # The same on every host, on purpose: django-q2 names the queue after it (the Redis list
    # `django_q:vidu_web:q`, OrmQ.key) and salts each message's signature with it, so every web
    # process and cluster must share it. Each cluster names itself `vidu_web@<host>` in its log
    # and in the results it saves (vidu_web/studio/cluster.py).
    "name": "vidu_web",
    # One worker is held by the sweep (a long-running task that polls every running task), so
    # the default leaves two for submissions and archive copies.
    "workers": envint("Q_WORKERS", 3, 2, 64),
    # A task body (a submit, an archive) is killed after `timeout` seconds: a submit is bounded
    # by the HTTP timeouts, an archive by PIPELINE_ARCHIVE_MAX_MB. A sweep is enqueued with a
    # week's (jobs.sweep), in effect none: it hands over by itself, and goes on while the broker is down.
    "timeout": 600,
    # `retry` > `timeout`: the ORM broker re-delivers a task only when its worker is surely
    # gone (killed, host lost), never while it still runs. A re-delivered body is harmless:
    # each one starts with an atomic claim on the row (pending -> submitting, a lease, a sweep
    # slot), so only one body ever acts on a task.
    "retry": 660,
    # One attempt: our own state machine (attempts, backoff, next poll time, leases) decides
    # what runs again; django-q2 must not rerun a failed body on its own (a rerun submit could
    # create the task twice at Vidu).
    "max_attempts": 1,
    # After downtime a missed schedule runs once, not once per missed slot. (The every-minute
    # keeper schedule is only a safety net: each cluster's keeper thread checks every second.)
    "catch_up": False,
    "save_limit": 1000,
    # A failed body is acknowledged (not re-delivered); the pipeline's own retries apply.
    "ack_failures": True,
    "poll": 0.5,
    "label": "Django Q2",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- the generation pipeline (vidu_web/studio/tasks.py) ---------------------------------------
# Shrinks every wait (poll cadence, backoff, heartbeats) tenfold: for tests and demos only.
PIPELINE_FAST = envbool("PIPELINE_FAST", False)
# Concurrent queries per sweep (the size of its connection pool).
PIPELINE_POOL_SIZE = envint("PIPELINE_POOL_SIZE", 16, 1, 128)
# How many sweeps may run at once across all clusters (claims keep them off each other's tasks).
PIPELINE_SWEEPERS = envint("PIPELINE_SWEEPERS", 1, 1, 32)
# A sweep runs this long, then hands over to a fresh one (well under Q_CLUSTER's timeout).
PIPELINE_SWEEP_SECONDS = envint("PIPELINE_SWEEP_SECONDS", 300, 10, Q_CLUSTER["timeout"] - 60)
# Create attempts for retryable failures (429, 5xx, refused connections) before giving up.
PIPELINE_SUBMIT_ATTEMPTS = envint("PIPELINE_SUBMIT_ATTEMPTS", 6, 1, 20)
# Largest video we copy into our storage.
PIPELINE_ARCHIVE_MAX_BYTES = envint("PIPELINE_ARCHIVE_MAX_MB", 2048, 1) * 1024 * 1024
# Seconds to wait for Vidu's answer before the outcome counts as unknown.
VIDU_TIMEOUT = envint("VIDU_TIMEOUT", 30, 1, 600)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "vidu_web_cache"}}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # Sessions stay in the database (Django's default), not cached_db on Redis: Django 5.2's
    # cached_db writes to the cache unguarded when it loads, checks or deletes a session, so with
    # Redis down every signed-in page would be a 500; from the database they keep working. The
    # progress poll's 204 path makes the session read cheap enough (README "Load").

# --- security in production -----------------------------------------------------------------
# Only a proxy we run may say the request came over HTTPS: without DJANGO_BEHIND_PROXY a
# client's own X-Forwarded-Proto is ignored (and X-Forwarded-Host/-For always are).
BEHIND_PROXY = envbool("DJANGO_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A load balancer's probe speaks plain HTTP to the host: /healthz is never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = envbool("DJANGO_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 31536000, 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = [o.strip() for o in envstr("DJANGO_CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("https://", "http://")) or not urlsplit(_origin).netloc:
        raise ImproperlyConfigured(f"DJANGO_CSRF_TRUSTED_ORIGINS must list origins like https://studio.example.com, not {_origin!r}")
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"


def media_origins():
    """Where the browser fetches media from besides us: on S3 the media view redirects to a
    presigned link on the bucket's origin, and CSP checks a redirect's target too."""
    if not S3_BUCKET:
        return []
    if S3_ENDPOINT_URL:
        parts = urlsplit(S3_ENDPOINT_URL)
        return [f"{parts.scheme}://{parts.netloc}"]
    # AWS itself (virtual-hosted addressing): the global name, and the regional one.
    return [f"https://{S3_BUCKET}.s3.amazonaws.com"] + ([f"https://{S3_BUCKET}.s3.{S3_REGION}.amazonaws.com"] if S3_REGION else [])


# Content-Security-Policy on every response (django-csp). Scripts are our own files only: no
# inline script and no eval, so the page script and htmx (its eval turned off in base.html's
# htmx-config) are all that runs; no inline style either (progress bars get their width from
# app.js). blob: images are the create form's previews of picked files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "blob:", *media_origins()],
        "media-src": ["'self'", *media_origins()],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Browser features no page of ours uses are off for us and anything we might embed; video
# fullscreen, autoplay (gallery previews) and picture-in-picture stay ours (vidu_web/headers.py).
PERMISSIONS_POLICY = {
    "accelerometer": [], "camera": [], "display-capture": [], "geolocation": [], "gyroscope": [],
    "magnetometer": [], "microphone": [], "midi": [], "payment": [], "usb": [], "serial": [],
    "xr-spatial-tracking": [], "browsing-topics": [],
    "autoplay": ["self"], "fullscreen": ["self"], "picture-in-picture": ["self"],
}

# Django's technical error page (DEBUG) and error reports: no database or Redis URL, API key,
# callback secret or signed URL, from settings, the environment (request.META) or a traceback.
DEFAULT_EXCEPTION_REPORTER = "vidu_web.redact.SafeReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "vidu_web.redact.SafeReporterFilter"

# One console for everything. Every handler hides callback secrets, credentials in URLs and the
# query strings of http(s) URLs (signed media links); `make run`'s console keeps what a person
# reads: the start-up lines, requests other than the 2-second progress polls and static files,
# the pipeline's own lines, and every warning and error.
#
# LOG_FORMAT=json (production): one JSON object a line with the time, level, logger, message,
# the process that wrote it named after its host (`vidu_web@<host>` for a cluster, `web@<host>`
# for the web server), its pid, and the request id of the request it belongs to (vidu_web/logs.py).
LOG_FORMAT = envstr("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
if LOG_FORMAT == "json":
    import logging as _logging

    _logging.captureWarnings(True)  # a Python warning becomes a JSON line too, not raw stderr
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "vidu_web.logs.ContextFilter"},
        "redact": {"()": "vidu_web.redact.RedactFilter"},
        "quiet_requests": {"()": "vidu_web.redact.QuietRequests"},
        "quiet_queue": {"()": "vidu_web.redact.QuietQueue"},
        "health_answered": {"()": "vidu_web.redact.HealthAnswered"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
        "json": {"()": "vidu_web.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "plain",
                    "filters": ["context", "redact"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "django.server",
                          "filters": ["context", "quiet_requests", "redact"]},
        "django-q": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "plain",
                     "filters": ["context", "quiet_queue", "redact"]},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "urllib3": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
        # Django's own "django" handlers (console with DEBUG, mail_admins) go: records reach the
        # root's console once, redacted, instead of twice.
        "django": {"level": "INFO"},
        # A 503 from /healthz is logged once by the view, as a WARNING naming the check.
        "django.request": {"level": "INFO", "filters": ["health_answered"]},
        # runserver's access log (Django gives it its own handler; this one filters).
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # django-q2 logs each enqueue and each task body at INFO: those go; its cluster lines,
        # warnings and errors stay.
        "django-q": {"handlers": ["django-q"], "level": "INFO", "propagate": False},
        # axes logs every sign-in and check at INFO; its failures and locks are WARNINGs.
        "axes": {"level": "WARNING"},
        # gunicorn's access and error logs (production), through the same redacting console.
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
