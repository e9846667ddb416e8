"""runreel's read side: reading and following logs, views, snapshots, exit codes, the CLI."""
