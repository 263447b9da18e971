"""Running sparkify_assets as a service: the instance-side pieces (run launcher, PostgreSQL URL handling) and
`make serve`'s supervisor, and `make front` (front.py), the authenticated HTTPS way in from other machines.

Kept apart from `sparkify_assets` on purpose: the webserver and the daemon load the run launcher and the storage
from the instance file, and must not import (or even have installed) the user code that the code server serves.
"""
