"""pytest plugin: replay recorded traces (see lifecycle.replay)."""
