"""`rediscope diff`: what changed between two snapshots of a keyspace, per key pattern."""
