"""`rediscope bigkeys`: the biggest keys by bytes and by element count."""
