"""Reading RDB files front to back: every opcode, type and encoding from RDB 1 to 12 and
Valkey's VALKEY080, with bounded memory; key records in the batches the collectors take."""

from rediscope.core.rdbfile.reader import FileInfo, RdbCorrupt, RdbReader
from rediscope.core.rdbfile.source import RdbSource, rdb_inputs

__all__ = ["FileInfo", "RdbCorrupt", "RdbReader", "RdbSource", "rdb_inputs"]
