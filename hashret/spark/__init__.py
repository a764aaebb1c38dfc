"""hashret on Apache Spark (the ``spark`` extra: ``pip install "hashret[spark]"``, and Java
17 or later): an index's model encodes a DataFrame partition by partition on the executors,
and an index of a corpus too large for one process is built with them, in shards.

>>> from hashret.spark import build_index, encode
>>> codes = encode(spark.read.parquet("docs/"), "indexes/news", text_column="text")
>>> codes.write.parquet("codes/")
>>> build_index(spark, "docs/", "indexes/big", bits=64, shards=8)

pyspark is imported only when one of these is called.
"""

from .build import build_index
from .encode import encode, encode_files, session

__all__ = ["build_index", "encode", "encode_files", "session"]
