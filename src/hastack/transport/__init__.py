"""Touching a node: run a command, put a file, get a file — on a lab machine or over SSH."""
