"""hashret on Apache Spark (the ``spark`` extra: ``pip install "hashret[spark]"``, and Java
17 or later): an index's model encodes a DataFrame partition by partition on the executors.

>>> from hashret.spark import encode
>>> codes = encode(spark.read.parquet("docs/"), "indexes/news", text_col="text")
>>> codes.write.parquet("codes/")

pyspark is imported only when one of these is called.
"""

from .encode import encode, encode_files, session

__all__ = ["encode", "encode_files", "session"]
