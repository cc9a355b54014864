"""The boundary to Pacemaker's own tools."""
