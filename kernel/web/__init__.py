"""The hub's web app: assembled once from plugins' routes, with identity, errors and limits."""
