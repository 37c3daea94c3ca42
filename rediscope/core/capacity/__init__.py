"""`rediscope capacity`: samples in the local history, the growth fit, the report."""
