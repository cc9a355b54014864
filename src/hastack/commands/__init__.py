"""What a user can do with hastack, one function per operation, callable from Python.

Each command takes a :class:`~hastack.commands.session.Session` (the site file, how to reach
its nodes, where progress goes) and returns a result value; problems are raised as
:class:`~hastack.errors.HastackError`. The CLI only parses arguments, calls one of these and
prints the result (``--format json`` prints :func:`~hastack.commands.results.as_json` of it);
bench/ and the tests call them directly. Reading commands never write: secrets are written by
:func:`~hastack.commands.secrets.generate` and by a deploy only.
"""
