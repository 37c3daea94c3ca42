"""Logic over redis-py returning typed, frozen dataclasses. No typer, rich or humanize here."""
