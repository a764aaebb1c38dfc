"""``hashret info`` and ``check``: what an index is, and whether it is whole."""
import json
import re
import shutil

from hashret.bundle import seal_manifest


def test_info_reads_the_score_of_an_index_built_before_scores_were_named(run, reuters_index,
                                                                          tmp_path):
    """An index whose manifest records its per-epoch score as "agreement" (no score name)
    is described as before: that score was always retrieval agreement."""
    old = tmp_path / "old"
    shutil.copytree(reuters_index[0], old)
    manifest = json.loads((old / "manifest.json").read_text())
    t = manifest["build"]["train"]
    t["agreement"] = t.pop("scores")
    del t["score_name"]
    (old / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))
    r = run("info", old)
    assert r.code == 0, r.err
    assert re.search(r"\(kept \d+; retrieval agreement 0\.\d{3}, highest 0\.\d{3} at epoch "
                     r"\d+\)", r.out), r.out


def test_check_ok(run, fashion_index):
    r = run("check", fashion_index[0])
    assert r.code == 0 and r.out.strip().endswith("OK")
    assert "reproduces the stored codes" in r.out
    assert "numpy encoder that answers queries gives the same codes" in r.out
