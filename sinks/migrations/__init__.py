"""Versioned DDL: NNNN_name.sql files applied in order by :mod:`sinks.migrate`."""
