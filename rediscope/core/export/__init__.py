"""Per-key export: every key scanned as a row (JSONL, CSV), streamed as the scan goes."""
