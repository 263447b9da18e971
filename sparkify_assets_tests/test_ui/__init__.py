"""What people read: the UI over the real webserver and a browser, lineage there, and docs/analysts.md's answers."""
