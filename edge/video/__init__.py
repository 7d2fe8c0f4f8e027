"""Frames in, pictures out: capture, display, recording, overlays, the live loop, batches."""
