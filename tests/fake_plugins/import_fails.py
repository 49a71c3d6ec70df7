"""A plugin whose import fails: proves that a plugin hub.ini does not enable is never imported."""

raise RuntimeError("this plugin must never be imported unless it is enabled")
