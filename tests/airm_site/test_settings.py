"""Configuration: environment-driven settings, production checks, migrations in step."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "prod-" + "k9#Qz!v2@Lm7$Rt4%Wx8^Yb1&Nc6*Hd3(Jf5)Gs0" * 2,
    "ALLOWED_HOSTS": "airm.example.org",
    "DATABASE_URL": "sqlite:///:memory:",
}


def run_manage(*args, env):
    unset = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "airm_site.settings", **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_production_settings_pass_the_deployment_checks():
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


@pytest.mark.slow
def test_a_secret_key_is_required_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


@pytest.mark.slow
def test_database_url_selects_the_database():
    script = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    postgres = run_manage(
        "shell",
        "--no-imports",
        "-c",
        script,
        env={"DEBUG": "1", "DATABASE_URL": "postgres://root@127.0.0.1:5432/test"},
    )
    assert postgres.stdout.strip() == "django.db.backends.postgresql"
    default = run_manage(
        "shell", "--no-imports", "-c", script, env={"DEBUG": "1", "DATABASE_URL": ""}
    )
    assert default.stdout.strip() == "django.db.backends.sqlite3"


@pytest.mark.django_db
def test_the_models_and_migrations_are_in_step():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.slow
def test_a_bare_pytest_needs_no_debug_or_secret_key_in_the_environment():
    """The suite's settings (tests/settings.py) supply what it needs; production's do not."""
    unset = {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DATABASE_URL"}
    env = {k: v for k, v in os.environ.items() if k not in unset and not k.startswith("PYTEST")}
    script = Path(sys.executable).with_name("pytest")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pytest"]
    result = subprocess.run(
        [*command, "tests/catalog/test_validation.py", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
