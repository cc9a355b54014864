"""Day-2 operations on a running site: maintenance of a node (and, to come: adding and
removing nodes, moving a service between clusters)."""
