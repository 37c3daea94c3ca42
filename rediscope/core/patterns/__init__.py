"""Key patterns: inference and folding (inference), and `rediscope patterns` (command)."""
