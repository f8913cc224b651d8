"""The SQLite store: append-only events as the source of truth, projections beside them.

SQL lives in this package and nowhere else. Owners open a database with `open_store`; the
writer appends (group commit), the reader queries, `replay` rebuilds a run from its events.
"""

from runtui.store.database import Store, open_reader, open_store
from runtui.store.queries import StoreReader
from runtui.store.writer import EventWriter, WriterClosedError

__all__ = ["EventWriter", "Store", "StoreReader", "WriterClosedError", "open_reader", "open_store"]
