"""What every command module imports: the Run object and the `rediscope_command` decorator
(options in options_*.py, the Run object in run.py, the error boundary in boundary.py)."""

from rediscope.cli.boundary import rediscope_command
from rediscope.cli.options_scan import UsageExit3Command
from rediscope.cli.run import Run

__all__ = ["Run", "UsageExit3Command", "rediscope_command"]
