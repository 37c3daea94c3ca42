"""Reading RDB files front to back: every opcode, type and encoding from RDB 1 to 12 and
Valkey's VALKEY080, with bounded memory; key records in the batches the collectors take."""
