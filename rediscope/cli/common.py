"""What every command module imports: the Run object and the `rediscope_command` decorator
(options in _options_*.py, the Run object in _run.py, the error boundary in _boundary.py)."""

from rediscope.cli._boundary import rediscope_command
from rediscope.cli._options_scan import UsageExit3Command
from rediscope.cli._run import Run

__all__ = ["Run", "UsageExit3Command", "rediscope_command"]
