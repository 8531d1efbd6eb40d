"""People and scripts: users with roles, scrypt password hashes, API tokens."""
