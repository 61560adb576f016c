"""Settings come from the environment; a bad value stops start-up naming the variable."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import django, json; from django.conf import settings; django.setup();"
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'],"
    " 'name': str(settings.DATABASES['default']['NAME']),"
    " 'base': settings.VIDU_BASE_URL, 'prefix': settings.VIDU_PATH_PREFIX, 'provider': settings.VIDU_PROVIDER,"
    " 'broker': 'redis' if 'redis' in settings.Q_CLUSTER else 'orm', 'debug': settings.DEBUG,"
    " 'hosts': settings.ALLOWED_HOSTS}))"
)


def start(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VIDU_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    clean.update({"DJANGO_SECRET_KEY": "a-test-key-" + "x" * 40, **env}, DJANGO_SETTINGS_MODULE="vidu_web.settings")
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "name, value",
    [
        ("DJANGO_DEBUG", "maybe"),
        ("VIDU_PROVIDER", "openai"),
        ("VIDU_AUTH_SCHEME", "Basic"),
        ("VIDU_BASE_URL", "api.vidu.com"),
        ("VIDU_PATH_PREFIX", "ent/v2"),
        ("VIDU_CALLBACK_BASE_URL", "ftp://example.org"),
        ("DATABASE_URL", "mysql://root@localhost/x"),
        ("DATABASE_URL", "postgres://127.0.0.1:5432/"),
        ("REDIS_URL", "127.0.0.1:6379"),
        ("MEDIA_ROOT", "relative/media"),
        ("SANDBOX_PORT", "eighty"),
        ("EMAIL_PORT", "587"),  # without EMAIL_HOST
        ("DEFAULT_FROM_EMAIL", "studio at example"),
    ],
)
def test_a_bad_value_stops_startup_naming_the_variable(name, value):
    result = start(**{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("env, name", [
    ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT"),
    ({"EMAIL_HOST_USER": "studio"}, "EMAIL_HOST_PASSWORD"),
    ({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "EMAIL_USE_SSL"),
    ({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT"),
])
def test_bad_email_settings_stop_startup_naming_the_variable(env, name):
    result = start(EMAIL_HOST="smtp.example.org", **env)
    assert result.returncode != 0 and name in result.stderr.strip().splitlines()[-1]


def test_email_is_on_with_a_host_or_debug_and_off_otherwise():
    probe = ("import django; from django.conf import settings; django.setup();"
             "print(settings.EMAIL_ENABLED, settings.EMAIL_BACKEND.rsplit('.', 2)[-2])")

    def run(**env):
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("VIDU_", "DJANGO_", "DATABASE_URL", "EMAIL_"))}
        clean.update({"DJANGO_SECRET_KEY": "a-test-key-" + "x" * 40, **env}, DJANGO_SETTINGS_MODULE="vidu_web.settings",
                     VIDU_WEB_TESTING="0")
        return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=clean, capture_output=True, text=True,
                              timeout=60).stdout.split()

    assert run(EMAIL_HOST="smtp.example.org", DJANGO_DEBUG="0") == ["True", "smtp"]
    assert run(DJANGO_DEBUG="1") == ["True", "console"]  # make run: mails on the console
    assert run(DJANGO_DEBUG="0") == ["False", "console"]  # production without EMAIL_HOST: no reset


def test_a_real_provider_needs_a_key():
    result = start(VIDU_PROVIDER="vidu")
    assert result.returncode != 0
    assert "VIDU_API_KEY" in result.stderr.strip().splitlines()[-1]


def test_defaults_are_sqlite_sandbox_and_the_orm_broker():
    result = start()
    assert result.returncode == 0, result.stderr
    assert '"engine": "django.db.backends.sqlite3"' in result.stdout
    assert '"base": "http://127.0.0.1:8765"' in result.stdout
    assert '"broker": "orm"' in result.stdout
    assert '"debug": false' in result.stdout


def test_database_url_and_redis_url_switch_backends():
    result = start(DATABASE_URL="postgres://u:p%40ss@db.internal:6543/vidu", REDIS_URL="redis://127.0.0.1:6379/1")
    assert result.returncode == 0, result.stderr
    assert '"engine": "django.db.backends.postgresql"' in result.stdout
    assert '"name": "vidu"' in result.stdout
    assert '"broker": "redis"' in result.stdout


def test_provider_presets_and_overrides():
    result = start(VIDU_PROVIDER="dataeyes", VIDU_API_KEY="k")
    assert '"base": ""' in result.stdout  # the preset's own URL applies (see studio.providers.current)
    result = start(VIDU_PROVIDER="dataeyes", VIDU_API_KEY="k", VIDU_BASE_URL="https://gw.example", VIDU_PATH_PREFIX="/x/v2")
    assert '"base": "https://gw.example"' in result.stdout and '"prefix": "/x/v2"' in result.stdout


def test_sandbox_port_moves_the_sandbox():
    result = start(SANDBOX_PORT="9999")
    assert '"base": "http://127.0.0.1:9999"' in result.stdout


def test_production_settings_pass_check_deploy():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDU_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DJANGO_DEBUG="false", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ALLOWED_HOSTS="studio.example.com")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr



def test_with_redis_down_signed_in_pages_still_work(alice, settings):
    """REDIS_URL moves the broker and the cache to Redis, not the sessions: Django's cached_db
    sessions write to the cache unguarded, so with Redis down every signed-in page was a 500."""
    import json

    from django.test import Client

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDU_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DJANGO_SECRET_KEY="a-test-key-" + "x" * 40, REDIS_URL="redis://127.0.0.1:6379/1",
               DJANGO_SETTINGS_MODULE="vidu_web.settings")
    probe = subprocess.run([sys.executable, "-c", "import django, json; django.setup(); from django.conf import "
                            "settings; print(json.dumps(settings.SESSION_ENGINE))"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    settings.SESSION_ENGINE = json.loads(probe.stdout)  # what a host with REDIS_URL runs
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # Redis down: nothing listens there
    client = Client()
    client.force_login(alice)
    assert client.get("/gallery/").status_code == 200
