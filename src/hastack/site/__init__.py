"""The site file: models, loading with line-accurate errors, the guide's rules, placement."""
