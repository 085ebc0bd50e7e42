"""The project's root exception. Each package derives its own errors from it."""


class KamError(Exception):
    """Base class of every error raised on purpose by KAM Pulse."""
