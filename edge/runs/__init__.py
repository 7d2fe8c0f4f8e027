"""Whole runs on the pipeline: the video-call check on photos or live, calibration."""
