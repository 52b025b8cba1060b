"""Kept so existing imports work: the manifest reader lives in ``orchestration.relations``."""

from orchestration.relations import ManifestError, Relations, default_manifest

__all__ = ["ManifestError", "Relations", "default_manifest"]
