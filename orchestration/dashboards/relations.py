"""Kept so existing imports work: the manifest reader lives in ``orchestration.relations``."""

from orchestration.relations import DEFAULT_MANIFEST, ManifestError, Relations

__all__ = ["DEFAULT_MANIFEST", "ManifestError", "Relations"]
