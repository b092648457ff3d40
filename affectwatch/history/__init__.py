"""Expression history upkeep: site settings for the views, partitions made ahead, the hourly aggregates,
retention per kind of data, and erasure of a resident. SQL lives in affectwatch.queries.history."""
