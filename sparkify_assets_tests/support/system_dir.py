"""A stand-in for /var/lib/sparkify (SPARKIFY_SYSTEM_DIR) that a test owns: where, run as root, the local
PostgreSQL and the front keep their accounts' files. Made as the service would make it (root's, 0711, under the
world-searchable /tmp) and removed afterwards, so tests leave nothing under /var/lib."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def own_system_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sparkify-system-", dir="/tmp"))
    try:
        path.chmod(0o711)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
