"""Persistence: the only package that imports SQLAlchemy.

Services open a transaction with `Database.read()` / `Database.write()` and pass the connection
to the keyword-only functions of the modules here (`datasets`, `cases`, `history`, `keys`).
"""

from evalset.server.storage.engine import Conn, Contention, Database, Unavailable
from evalset.server.storage.migrate import migrate
from evalset.server.storage.stamp import Stamp

__all__ = ["Conn", "Contention", "Database", "Unavailable", "migrate", "Stamp"]
