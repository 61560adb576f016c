"""Production start-up: `make serve` (gunicorn) and `make worker`, their settings and deploy/ files.

Every process here is real: the settings module loaded from a clean environment, `make serve`
running collectstatic then gunicorn on a free port, `make worker`, `nginx -t` on the example.
"""

import configparser
import re
import subprocess
import sys

import pytest
import requests
from prod_fixtures import ROOT, free_port, production_env, serve, stop

PROBE = "import django; django.setup(); from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"


def load_settings(**env):
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=production_env(**env),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "env, named",
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"S3_BUCKET": "My_Videos"}, "S3_BUCKET"),
        ({"S3_BUCKET": "videos", "S3_ENDPOINT_URL": "minio.internal:9000"}, "S3_ENDPOINT_URL"),
        ({"S3_BUCKET": "videos", "S3_REGION": "eu west 1"}, "S3_REGION"),
        ({"S3_BUCKET": "videos", "S3_URL_SECONDS": "5"}, "S3_URL_SECONDS"),
        ({"S3_BUCKET": "videos", "AWS_ACCESS_KEY_ID": "AKIA..."}, "AWS_SECRET_ACCESS_KEY"),
        ({"S3_ENDPOINT_URL": "https://s3.example.com"}, "S3_ENDPOINT_URL"),
        ({"MEDIA_ACCEL_PREFIX": "_media"}, "MEDIA_ACCEL_PREFIX"),
        ({"STATIC_ROOT": "static"}, "STATIC_ROOT"),
        ({"DJANGO_BEHIND_PROXY": "maybe"}, "DJANGO_BEHIND_PROXY"),
        ({"DJANGO_CSRF_TRUSTED_ORIGINS": "studio.example.com"}, "DJANGO_CSRF_TRUSTED_ORIGINS"),
    ],
)
def test_a_bad_production_value_stops_startup_naming_it(env, named):
    result = load_settings(**env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last and named in last
    assert "secret" not in last.lower() or named == "DJANGO_SECRET_KEY" or named.startswith("AWS_")


def test_the_proxy_header_is_trusted_only_when_said():
    assert load_settings().stdout.strip() == "None"
    assert load_settings(DJANGO_BEHIND_PROXY="1").stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_an_s3_bucket_becomes_the_default_storage():
    probe = "import django; django.setup(); from django.core.files.storage import default_storage as d; print(d.bucket_name)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=production_env(S3_BUCKET="vidu-media", S3_ENDPOINT_URL="http://127.0.0.1:9",
                                               AWS_ACCESS_KEY_ID="id", AWS_SECRET_ACCESS_KEY="secret"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "vidu-media"


@pytest.mark.parametrize("target", ["serve", "worker"])
def test_make_serve_and_worker_refuse_to_start_without_the_secret_key(target, tmp_path):
    env = production_env(DJANGO_SECRET_KEY=None, STATIC_ROOT=str(tmp_path / "static"), PORT=str(free_port()))
    result = subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
    assert not (tmp_path / "static").exists()


def test_commands_that_only_read_the_code_need_no_key_and_others_still_refuse():
    env = production_env(DJANGO_SECRET_KEY=None)
    checked = subprocess.run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert "No changes detected" in checked.stdout
    refused = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode != 0 and "DJANGO_SECRET_KEY must be set" in refused.stderr


def test_gunicorn_alone_refuses_to_start_without_the_secret_key():
    """What the systemd unit runs (no make): the app is preloaded, so the master stops at once."""
    result = subprocess.run([str(ROOT / ".venv/bin/gunicorn") if (ROOT / ".venv/bin/gunicorn").exists() else "gunicorn",
                             "--config", "deploy/gunicorn.conf.py", "vidu_web.wsgi"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env=production_env(DJANGO_SECRET_KEY=None, PORT=str(free_port())))
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def test_a_port_that_is_not_a_port_stops_make_serve(tmp_path):
    env = production_env(PORT="http", STATIC_ROOT=str(tmp_path / "static"))
    result = subprocess.run(["make", "--no-print-directory", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "PORT must be" in result.stderr


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_make_serve_answers_in_production_and_forged_forwarded_headers_change_nothing(tmp_path):
    server = serve(tmp_path)
    try:
        assert (server.static_root / "staticfiles.json").exists()  # make serve ran collectstatic
        # Plain HTTP is sent to HTTPS, whatever a client claims about its scheme or host ...
        for forged in ({}, {"X-Forwarded-Proto": "https"}, {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}):
            response = requests.get(f"{server.url}/accounts/login/", headers=forged, allow_redirects=False, timeout=10)
            assert response.status_code == 301, forged
            assert response.headers["Location"] == f"https://127.0.0.1:{server.port}/accounts/login/"
        # ... but not the health check, which a load balancer probes over plain HTTP.
        health = requests.get(f"{server.url}/healthz", allow_redirects=False, timeout=10)
        assert health.status_code in (200, 503) and set(health.json()["checks"]) == {"database", "broker", "storage", "sweep"}
        assert health.json()["checks"]["database"] == "ok"
        assert requests.get(f"{server.url}/create/", headers={"X-Forwarded-Proto": "https"}, allow_redirects=False,
                            timeout=10).status_code == 301
    finally:
        stop(server.process)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_behind_the_proxy_pages_and_the_500_page_render_from_the_manifest(tmp_path):
    server = serve(tmp_path, DJANGO_BEHIND_PROXY="1")
    try:
        response = requests.get(f"{server.url}/accounts/login/", headers={"X-Forwarded-Proto": "https"}, timeout=10)
        assert response.status_code == 200, response.text[:500]
        css = re.search(r'href="(/static/[^"]*app\.[0-9a-f]{12}\.css)"', response.text)
        assert css, "the page links the hashed stylesheet from the manifest"
        assert requests.get(server.url + css[1], headers={"X-Forwarded-Proto": "https"}, timeout=10).status_code == 200
        assert "Strict-Transport-Security" in response.headers
        # Without the proxy's header, still sent to HTTPS: only the proxy's word counts.
        assert requests.get(f"{server.url}/accounts/login/", allow_redirects=False, timeout=10).status_code == 301
    finally:
        stop(server.process)
    # The 500 page under the same production settings and collected files.
    probe = ("import django; django.setup(); from django.test import RequestFactory; from django.views.defaults import server_error;"
             "r = server_error(RequestFactory().get('/')); print(r.status_code); print(r.content.decode())")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=production_env(STATIC_ROOT=str(server.static_root)))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("500") and "Something went wrong" in result.stdout
    assert re.search(r"app\.[0-9a-f]{12}\.css", result.stdout)


def test_the_systemd_units_run_what_the_makefile_runs():
    makefile = (ROOT / "Makefile").read_text()
    for unit, command in (("vidu-web.service", "gunicorn --config deploy/gunicorn.conf.py vidu_web.wsgi"),
                          ("vidu-worker.service", "manage.py qcluster")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(ROOT / "deploy" / unit)
        assert {"Unit", "Service", "Install"} <= set(parser.sections())
        service = parser["Service"]
        assert service["ExecStart"].endswith(command) and command.split()[-1] in makefile
        assert service["EnvironmentFile"] == "/etc/vidu_web.env" and service["Environment"] == "DJANGO_DEBUG=false"
    readme = (ROOT / "README.md").read_text()
    for name in ("deploy/nginx.conf", "deploy/vidu-web.service", "deploy/vidu-worker.service", "deploy/vidu_web.env",
                 "deploy/gunicorn.conf.py"):
        assert name in readme, f"README's Deploy section names {name}"


def test_the_example_environment_file_is_accepted_by_the_settings():
    env = {}
    for line in (ROOT / "deploy" / "vidu_web.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    assert {"DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_BEHIND_PROXY", "S3_BUCKET", "DATABASE_URL"} <= set(env)
    result = load_settings(**env)
    assert result.returncode == 0, result.stderr[-2000:]
    readme = (ROOT / "README.md").read_text()
    for name in [*env, "DJANGO_SSL_REDIRECT", "DJANGO_HSTS_SECONDS", "S3_URL_SECONDS", "MEDIA_ACCEL_PREFIX",
                 "STATIC_ROOT", "WEB_CONCURRENCY", "WEB_THREADS", "Q_WORKERS"]:
        assert f"`{name}`" in readme, f"README documents {name}"


def test_the_nginx_example_passes_nginx_t(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=studio.example.com",
                    "-keyout", str(key), "-out", str(cert), "-days", "1"], check=True, capture_output=True, timeout=60)
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = site.replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", str(cert)).replace("/etc/ssl/private/ssl-cert-snakeoil.key", str(key))
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ access_log {tmp_path}/access.log; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};"
        f" fastcgi_temp_path {tmp_path}; uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path};"
        f" include {tmp_path}/site.conf; }}\n")
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
