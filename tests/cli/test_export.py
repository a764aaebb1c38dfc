"""``hashret export`` and ``encode``: codes as Parquet features."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hashret.items import codes_from_column
from hashret.search.bits import unpack_bits


def test_export_with_embeddings(run, fashion_index, tmp_path):
    out, _ = fashion_index
    assert run("export", out, tmp_path / "e.parquet", "--with-embeddings").code == 0
    t = pq.read_table(tmp_path / "e.parquet")
    assert t.schema.field("embedding").type == pa.list_(pa.float32(), 32)
    emb = np.stack(t.column("embedding").to_numpy(zero_copy_only=False))
    assert np.array_equal(emb > 0, unpack_bits(codes_from_column(t.column("code"))))
