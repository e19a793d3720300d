"""A cluster of network namespaces on one machine, for fault tests and the scale-out bench."""

from .cluster import Rig
from .netns import RigUnavailable, available

__all__ = ["Rig", "RigUnavailable", "available"]
