"""Scheduled work: a job registry, run-once records and the single scheduler process."""
