"""The server's own diagnostics, where it has them: INFO KEYSIZES (size distribution),
CLUSTER SLOT-STATS (hot slots), COMMANDLOG (large requests and replies)."""
