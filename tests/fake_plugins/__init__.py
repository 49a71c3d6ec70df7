"""Plugins that exist only for the tests: each shows one way a plugin can behave or misbehave."""
