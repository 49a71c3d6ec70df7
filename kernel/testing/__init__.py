"""Test helpers for kernelhub and its plugins: a stand-in single-user server, conformance suites.

Third-party plugin authors can use these in their own test suites.
"""
