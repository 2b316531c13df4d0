"""Storage: mappers, backends and the public file API."""

from .api import TableInfo, list_tables, open, read, validate, write

__all__ = ["TableInfo", "list_tables", "open", "read", "validate", "write"]
