"""Verification: live status snapshots, checks and drills."""
