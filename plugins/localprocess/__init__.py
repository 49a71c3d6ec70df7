"""Spawners that run servers as local processes: `localprocess` (as each user) and `simple`."""
