"""ElastiCache: the Redis global datastore joining the two regions."""
