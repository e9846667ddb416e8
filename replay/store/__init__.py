"""The post-mortem store: every task, attempt, error signature, mark and log message of a
log in SQLite, built and kept fresh beside the seek index (see docs/store.md)."""
