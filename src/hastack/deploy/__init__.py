"""Deployment: the plan (pure) and, later, applying it through a transport."""
