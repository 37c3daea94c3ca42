"""`rediscope demo`: a realistic keyspace, served demo servers, the tour."""
