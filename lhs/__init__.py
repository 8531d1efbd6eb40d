"""The ``lhs`` command, put together above the roles: each role's commands load on demand.

``lhs node ...`` imports the node and never the coordinator (nor Flask); ``lhs coordinator``,
``lhs round`` and ``lhs query submit`` import the coordinator, and say which extra to
install when its packages are missing.
"""
