"""Judging a frame from its detections: the office-score rubric and the video-call check's rules."""
