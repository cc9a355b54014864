"""HA drills on the lab: break the running cluster on purpose and time the recovery."""
