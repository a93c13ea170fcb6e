"""The evalset server: HTTP API, storage and CLI (installed with the `server` extra)."""
