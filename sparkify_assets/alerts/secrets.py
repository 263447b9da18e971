"""The secret values of this process's environment, and text with every one of them removed.

Names are not enough: DAGSTER_POSTGRES_URL holds a password without being called one, and its password shows up
alone (an error may quote it, or a URL parser its first part). So the known credential variables are listed by
name, any other variable whose name says secret is added, and the PostgreSQL password is taken out of its URL.
Each value is also matched in the forms it takes once quoted by a URL, JSON or Python's repr.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import quote, quote_plus, unquote, urlsplit

from sparkify_assets.settings import process_environ

SECRET_VARIABLES = ("DAGSTER_POSTGRES_URL", "REDSHIFT_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                    "AWS_SESSION_TOKEN", "SPARKIFY_ALERT_WEBHOOK_URL")
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|WEBHOOK|CREDENTIAL|ACCESS_KEY|PRIVATE", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s/@:]*:\S*@", re.IGNORECASE)
MIN_NAMED = 4  # a listed variable's value is redacted from this length (shorter would garble ordinary words)
MIN_GUESSED = 6  # a variable that only looks secret by its name
MASK = "***"


def _url_password(url: str) -> str:
    """The password of a URL as written (everything between the user's ':' and the last '@'), or ''."""
    credentials = url.partition("://")[2].rpartition("@")[0]
    return credentials.partition(":")[2]


def _forms(value: str) -> set[str]:
    """`value` as it may appear in text: as is, percent-encoded, JSON- or repr-escaped."""
    return {value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1],
            repr(value)[1:-1], value.encode("unicode_escape").decode("ascii")}


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret value, in every form, longest first (so a value is removed before a part of it)."""
    env = process_environ() if environ is None else dict(environ)
    values: set[str] = set()
    for name, value in env.items():
        if name in SECRET_VARIABLES and len(value) >= MIN_NAMED:
            values |= _forms(value)
        elif _SECRET_NAME.search(name) and len(value) >= MIN_GUESSED:
            values |= _forms(value)
    if password := _url_password(env.get("DAGSTER_POSTGRES_URL", "")):
        for form in (password, unquote(password)):
            if len(form) >= MIN_NAMED:
                values |= _forms(form)
    if webhook := env.get("SPARKIFY_ALERT_WEBHOOK_URL"):
        try:
            path = urlsplit(webhook).path
        except ValueError:
            path = ""
        if len(path.strip("/")) >= 8:  # a Slack webhook's path is its token
            values |= _forms(path)
    return sorted((v for v in values if len(v) >= MIN_NAMED), key=len, reverse=True)


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` without any secret value of the environment, and without credentials in any URL."""
    for value in secret_values(environ):
        if value in text:
            text = text.replace(value, MASK)
    return _URL_CREDENTIALS.sub(rf"\1{MASK}@", text)
