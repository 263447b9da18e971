"""Unprivileged OS accounts for the servers `make serve` and the front start when run as root, and the one place
their files live.

Run as root, PostgreSQL refuses to start and nginx's workers should not keep root, so each runs as an account of its
own. Such an account cannot reach anything under a folder only root may search (the project is often under /root,
and its data folder is owner-only), and loosening a parent folder would open it to every local account, for good.
So their files go to a directory of their own under SYSTEM_DIR (/var/lib/sparkify: root-owned, 0711, never listed),
owned by the account and 0700; no existing folder changes owner or mode. Not run as root, everything runs as the
invoking user and nothing here is used.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkify_assets.settings import Settings

SYSTEM_DIR_ENV = "SPARKIFY_SYSTEM_DIR"  # tests point it at a folder of their own
DEFAULT_SYSTEM_DIR = Path("/var/lib/sparkify")


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int

    def popen_args(self) -> dict[str, Any]:
        """subprocess arguments that run a child as this account, with no supplementary groups."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def account(name: str) -> Account | None:
    """The account to run a server as: None when we are not root; created (system, no login) on first use."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin",
                        name], check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    return Account(name, entry.pw_uid, entry.pw_gid)


def system_dir() -> Path:
    """SYSTEM_DIR, created root-owned 0711 (searchable, not listable) if missing; refused if others may write it."""
    base = Path(Settings.from_env().service.system_dir or DEFAULT_SYSTEM_DIR)  # asked each time: tests move it
    if not base.exists():
        base.mkdir(mode=0o711, parents=True)
        base.chmod(0o711)  # mkdir's mode is cut by the umask
    info = base.stat()
    if info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise RuntimeError(f"{base} must be owned by root and writable by root only")
    return base


def own_dir(kind: str, key: Path, owner: Account) -> Path:
    """SYSTEM_DIR/<kind>-<hash of key>: one per project data folder, owned by `owner`, 0700."""
    digest = hashlib.sha256(str(key.resolve()).encode()).hexdigest()[:16]
    path = system_dir() / f"{kind}-{digest}"
    path.mkdir(mode=0o700, exist_ok=True)
    os.chown(path, owner.uid, owner.gid)
    path.chmod(0o700)
    return path


def give(path: Path, owner: Account, mode: int = 0o600) -> Path:
    """A file we wrote, handed to `owner` with `mode`."""
    os.chown(path, owner.uid, owner.gid)
    path.chmod(mode)
    return path


def reachable_by_others(tree: Path) -> bool:
    """Every parent searchable by others, and every folder and file of `tree` readable (programs runnable)."""
    if any(not p.stat().st_mode & stat.S_IXOTH for p in tree.resolve().parents):
        return False
    for root, _dirs, files in os.walk(tree):
        if Path(root).stat().st_mode & (stat.S_IROTH | stat.S_IXOTH) != stat.S_IROTH | stat.S_IXOTH:
            return False
        for name in files:
            mode = Path(root, name).stat().st_mode
            if not mode & stat.S_IROTH or (mode & stat.S_IXUSR and not mode & stat.S_IXOTH):
                return False
    return True


def readable_copy(base: Path, parts: list[Path], kind: str, version: str) -> Path:
    """A root-owned copy of `parts` (folders under `base`, kept at the same relative places, so programs still find
    their libraries by relative paths) under SYSTEM_DIR/<kind>-<version>: folders 0755, files 0644 (programs 0755),
    made once and atomically (a temporary folder renamed into place). The originals are left as they are."""
    target = system_dir() / f"{kind}-{version}"
    if target.exists():
        return target
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    for part in parts:
        shutil.copytree(part, partial / part.relative_to(base), symlinks=True)
    for root, _dirs, files in os.walk(partial):
        Path(root).chmod(0o755)
        for name in files:
            p = Path(root, name)
            if not p.is_symlink():
                p.chmod(0o755 if p.stat().st_mode & stat.S_IXUSR else 0o644)
    try:
        partial.rename(target)
    except OSError:  # another start made it first
        shutil.rmtree(partial, ignore_errors=True)
    return target
