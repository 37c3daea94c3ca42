"""`rediscope clients`: CLIENT LIST of every node, stream-parsed into bounded groups, the
clients that hurt, churn over a window, and --fail-if gates."""

from rediscope.core.clients.command import clients
from rediscope.core.clients.listing import ClientListDenied
from rediscope.core.clients.model import GROUP_BY, ClientRow, ClientsOptions, ClientsReport
from rediscope.core.clients.probe import RowSink

__all__ = [
    "GROUP_BY",
    "ClientListDenied",
    "ClientRow",
    "ClientsOptions",
    "ClientsReport",
    "RowSink",
    "clients",
]
