"""The domain model: enums, tables and pure functions shared by every layer.

Nothing here does I/O or imports a framework beyond pydantic and msgspec, so the kernel, the
store, the server and the UI can all agree on one vocabulary without depending on each other.
"""
