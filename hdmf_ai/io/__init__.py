"""Storage: mappers, backends and the public file API."""

from .read import TableInfo, list_tables, open, read, read_evaluations, validate
from .write import write

__all__ = ["TableInfo", "list_tables", "open", "read", "read_evaluations", "validate", "write"]
