"""The runtime's commands and the helpers they share (officescore/cli.py assembles them)."""
