"""The `officescore` command: the root that assembles every package's commands."""
