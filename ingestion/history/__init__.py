"""Historical sources (CSV files, a database) landed in the raw zone in the live payload shape.

Only the pure transforms are re-exported here: they are shipped to AWS Glue (``--extra-py-files``),
where sqlalchemy, tqdm and friends are not installed. Import ``ingestion.history.files`` and
``ingestion.history.database`` explicitly for the local extractors.
"""

from ingestion.history.transforms import DB_MAPPING, DEFAULT_MAPPING, ColumnMapping, to_payload

__all__ = ["DB_MAPPING", "DEFAULT_MAPPING", "ColumnMapping", "to_payload"]
