"""Secrets never leave, fast parts (issue 18 items 2 and 5): the PostgreSQL URL read whatever its password holds
and reported by name when it does not parse; alerts redacted as a whole before they are shortened; no shell text
built from data. The service run that plants secrets everywhere is test_secrets_service.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from sparkify_assets.alerts import messages
from sparkify_assets.alerts.secrets import redact
from sparkify_service import pg_url
from sparkify_service.storage import with_installed_driver

ROOT = Path(__file__).resolve().parents[2]
AWKWARD = ["Sup3r/secret#x", "a@b:c/d?e#f", "sp ace'quote\"back\\slash", "pct%zz%2", "uni\u00e9\u2603;$(x)`y`"]


@pytest.mark.parametrize("password", AWKWARD)
def test_a_password_holding_any_character_is_read_and_passed_on_encoded(password: str) -> None:
    parsed = pg_url.parse(f"postgresql://dagster:{password}@db.internal:6543/runs")
    assert (parsed.user, parsed.password, parsed.host, parsed.port, parsed.database) == (
        "dagster", password, "db.internal", 6543, "runs")
    assert password not in parsed.describe() and parsed.describe() == "db.internal:6543/runs (user dagster)"
    url = make_url(with_installed_driver(parsed.url))  # what Dagster's storage hands SQLAlchemy
    assert (url.password, url.host, url.port, url.database) == (password, "db.internal", 6543, "runs")


def test_an_encoded_password_is_kept_as_it_is() -> None:
    assert pg_url.parse("postgresql://u:p%2Fq%23@h/d").password == "p/q#"


@pytest.mark.parametrize(("value", "problem"), [
    ("postgresql://dagster:Sup3r/secret@host:port99/db", "the port is not a number"),
    ("mysql://dagster:Sup3r/secret@host/db", "does not start with postgresql://"),
    ("dagster:Sup3r/secret@host/db", "does not start with postgresql://"),
    ("postgresql://dagster:Sup3r/secret@/db", "names no host"),
    ("postgresql://dagster:Sup3r/secret@host", "names no database"),
])
def test_a_url_that_does_not_parse_is_named_never_echoed(value: str, problem: str) -> None:
    with pytest.raises(pg_url.InvalidURL) as raised:
        pg_url.parse(value)
    assert str(raised.value).startswith("DAGSTER_POSTGRES_URL is not a valid URL: ") and problem in str(raised.value)
    assert "Sup3r" not in str(raised.value) and "secret" not in str(raised.value)


def test_make_serve_stops_on_a_bad_url_by_name_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"),
           "DAGSTER_POSTGRES_URL": "postgresql://dagster:Sup3r/secret#x@host:99999/db"}
    done = subprocess.run([sys.executable, "-m", "sparkify_service"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "DAGSTER_POSTGRES_URL is not a valid URL: the port is not a number" in output, output
    assert "Sup3r" not in output and "Traceback" not in output


SECRETS = {
    "DAGSTER_POSTGRES_URL": "postgresql://dagster:pg/Secr3t#pw?x@db:5432/dagster",
    "REDSHIFT_PASSWORD": "rs'Secr3t\"pw\\",
    "AWS_SECRET_ACCESS_KEY": "aws/Secr3t+key=",
    "AWS_ACCESS_KEY_ID": "AKIASECR3TKEYID",
    "SPARKIFY_ALERT_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XyzSecr3tToken",
}


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("planted")
@pytest.mark.parametrize("leak", [
    "pg/Secr3t#pw?x",  # the bare PostgreSQL password
    "pg%2FSecr3t%23pw%3Fx",  # percent-encoded, as the URL handed to Dagster holds it
    "rs'Secr3t\"pw\\", json.dumps("rs'Secr3t\"pw\\")[1:-1], repr("rs'Secr3t\"pw\\")[1:-1],
    "aws/Secr3t+key=", "AKIASECR3TKEYID",
    "https://hooks.slack.com/services/T000/B000/XyzSecr3tToken", "/services/T000/B000/XyzSecr3tToken",
])
def test_every_secret_is_redacted_in_every_form(leak: str) -> None:
    text = redact(f"failed: {leak} (while loading)")
    for core in ("Secr3t", "SECR3T"):
        assert core not in text, text
    assert text.startswith("failed: ") and text.endswith(" (while loading)")


@pytest.mark.usefixtures("planted")
def test_alerts_redact_the_whole_text_before_shortening_it() -> None:
    """A secret (or a URL's credentials) straddling the 500-character cut is removed whole, not cut in two."""
    for lead in range(480, 500, 3):
        for leak in ("aws/Secr3t+key=", "redshift://admin:Secr3tpw@cluster:5439/dev", "pg/Secr3t#pw?x"):
            error = messages.first_line("x" * lead + leak + " and more\nTraceback: " + leak)
            assert "Secr3t" not in error and "Secr3" not in error and len(error) <= 500
            body = messages.run_failed(ui_url="http://ui", run_id="r", job="daily_logs", partition=None,
                                       asset="a", error=error).body()
            assert "Secr3" not in json.dumps(body)


def test_the_makefile_reads_only_date_shaped_names_and_quotes_them(tmp_path: Path) -> None:
    """A sample file name holding shell text yields nothing: the last day is that of a plain date's file."""
    logs = tmp_path / "data/sample/log_data/2018/11"
    logs.mkdir(parents=True)
    (logs / "2018-11-29-events.json").write_text("")
    (logs / "2018-11-30';touch INJECTED;'-events.json").write_text("")
    (logs / "2018-11-30$(touch INJECTED2)-events.json").write_text("")
    probe = "probe:\n\t@echo 'day=$(SAMPLE_LAST_DAY)'"
    done = subprocess.run(["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), f"--eval={probe}", "probe"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "day=2018-11-29", done.stdout + done.stderr
    assert not list(tmp_path.glob("INJECTED*"))
    makefile = (ROOT / "Makefile").read_text()
    assert "SPARKIFY_END_DATE='$(SAMPLE_LAST_DAY)'" in makefile
    assert "SPARKIFY_END_DATE=$(SAMPLE_LAST_DAY)" not in makefile


def test_no_python_of_the_project_runs_a_shell() -> None:
    """No shell=True, os.system or os.popen: every subprocess gets an argument list, never text to parse."""
    shell = re.compile(r"shell\s*=\s*True|os\.system\(|os\.popen\(|subprocess\.getoutput|subprocess\.getstatusoutput")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for folder in ("sparkify_assets", "sparkify_service",
                                                                "sparkify_assets_tests", "benchmarks")
                 for path in (ROOT / folder).rglob("*.py") if path.name != Path(__file__).name
                 for n, line in enumerate(path.read_text().splitlines(), 1) if shell.search(line)]
    assert offenders == []
