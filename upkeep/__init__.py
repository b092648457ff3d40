"""History upkeep, the process `affectwatch history maintain`: site settings for the history views,
monthly partitions made ahead, the hourly and daily aggregates, retention per kind of data. SQL lives in
affectwatch.queries.history; erasing a resident (a command, not upkeep) is affectwatch.erasure."""
