"""The hub's database: peewee models, connections run off the event loop, and schema versions."""
