"""Thin Typer commands: options in, one core call, emit(report)."""
