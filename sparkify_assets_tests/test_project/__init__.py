"""The project as a whole: its definitions (snapshots per engine), the CLI, what starting imports, its instances."""
