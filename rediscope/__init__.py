"""rediscope: ops and diagnostics toolkit for Redis and Valkey."""

__version__ = "0.1.0"
