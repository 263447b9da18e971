"""Running sparkify_assets as a service: the instance-side pieces (run launcher, PostgreSQL URL handling) and
`make serve`'s supervisor, and `make front` (front.py), the authenticated HTTPS way in from other machines.

Kept apart from the pipeline on purpose: the webserver and the daemon load the run launcher and the storage from
the instance file, and must not load the user code the code server serves. They take only `sparkify_assets`'
foundation (`settings.py`, `dagster_internals.py`: nothing but the standard library and Dagster; the package's
`__init__` builds nothing), which test_startup_imports.py holds them to.
"""
