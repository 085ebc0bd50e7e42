"""KAM Pulse application shell: the `kam` command, service settings and the local broker."""

from kam.errors import KamError

__all__ = ["KamError"]
