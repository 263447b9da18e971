"""DAGSTER_POSTGRES_URL as operators write it, read without ever echoing it.

`urllib.parse.urlsplit` reads a password holding an unencoded `/`, `?` or `#` as the end of the host and then
fails with `ValueError: Port could not be cast to integer value as '<the password's start>'`: a traceback that
prints part of the secret. Here the credentials are everything before the URL's last `@`, whatever characters the
password holds, and the URL handed to Dagster is rebuilt with user and password percent-encoded. A value that still
does not parse is reported by the variable's name and what is wrong, never by its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

VARIABLE = "DAGSTER_POSTGRES_URL"
_SCHEME = re.compile(r"(postgres|postgresql)(\+[a-z0-9_]+)?", re.IGNORECASE)
_EXPECTED = "expected postgresql://user:password@host:port/database"


class InvalidURL(ValueError):
    """A URL that cannot be used; the message names the variable and the problem, not the value."""


@dataclass(frozen=True)
class PostgresURL:
    url: str  # canonical: user and password percent-encoded, so every URL parser reads it the same way
    user: str
    password: str
    host: str
    port: int
    database: str

    def describe(self) -> str:
        """host:port/database (user ...): what a log line may say."""
        return f"{self.host}:{self.port}/{self.database} (user {self.user})"


def parse(value: str, name: str = VARIABLE) -> PostgresURL:
    """The URL in `value`, whatever its password holds (percent-encoded or not; `%XX` is read as an escape)."""
    def bad(problem: str) -> InvalidURL:
        return InvalidURL(f"{name} is not a valid URL: {problem} ({_EXPECTED})")

    scheme, sep, rest = value.strip().partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        raise bad("it does not start with postgresql://")
    credentials, at, location = rest.rpartition("@")
    if not at:
        location = rest
    if any(c in location for c in "#\\ ") or any(ord(c) < 32 for c in location):
        raise bad("the part after the credentials holds a character a host, port or database cannot")
    try:
        parts = urlsplit(f"{scheme}://{location}")
        host, port = parts.hostname, parts.port or 5432
    except ValueError:
        raise bad("the port is not a number from 1 to 65535") from None
    if not host:
        raise bad("it names no host")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise bad("it names no database (or more than one path segment)")
    user, _, password = credentials.partition(":")
    user, password = unquote(user), unquote(password)
    if at and not user:
        raise bad("it names no user before the password")
    auth = f"{quote(user, safe='')}:{quote(password, safe='')}@" if at else ""
    return PostgresURL(url=f"{scheme}://{auth}{location}", user=user, password=password, host=host, port=port,
                       database=database)

