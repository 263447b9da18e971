"""The service (sparkify_service, `make serve`): supervisor, launcher, front, privilege and secrets."""
