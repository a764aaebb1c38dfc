import json
import os
import shutil
import sys

import numpy as np
import pytest

from hashret.cli import main


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def run(capsys):
    """Run the hashret CLI in-process: returns exit code, stdout and stderr."""
    def _run(*args):
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        return Result(code, out, err)
    return _run


@pytest.fixture(scope="session")
def fashion_index(tmp_path_factory):
    """A small Fashion-MNIST index built once for the session through the library; trained
    long enough (10 epochs, a few seconds) that its codes differ from item to item."""
    from hashret import build_index, load_dataset
    from hashret.data import limit_rows
    out = tmp_path_factory.mktemp("idx") / "fm"
    corpus = limit_rows(load_dataset("fashion-mnist"), 600)
    build_index(corpus, out, bits=32, epochs=10, progress=False)
    return out, corpus


@pytest.fixture(scope="session")
def reuters_corpus():
    from hashret import load_dataset
    return load_dataset("reuters")


@pytest.fixture(scope="session")
def reuters_index(tmp_path_factory, reuters_corpus):
    from hashret import build_index
    from hashret.data import limit_rows
    out = tmp_path_factory.mktemp("idx") / "reuters"
    corpus = limit_rows(reuters_corpus, 800)
    build_index(corpus, out, bits=16, epochs=2, progress=False)
    return out, corpus


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Brute-force Hamming distances between packed code sets (m, n)."""
    x = np.unpackbits(a, axis=1)[:, None, :] != np.unpackbits(b, axis=1)[None, :, :]
    return x.sum(-1)


# --- Spark -----------------------------------------------------------------------------------
# Spark needs Java 17 or later (Debian's openjdk-17-jre-headless; .ci/run installs it). Where
# no java is found the tests that use the session are skipped with that reason, except when
# HASHRET_REQUIRE_SPARK is set (as .ci/run sets it), where its absence fails them.
HAVE_JAVA = bool(shutil.which("java") or os.environ.get("JAVA_HOME"))


@pytest.fixture(scope="session")
def spark():
    if not HAVE_JAVA:
        if os.environ.get("HASHRET_REQUIRE_SPARK"):
            raise RuntimeError("the Spark tests need Java 17 or later: apt-get install "
                               "openjdk-17-jre-headless")
        pytest.skip("needs Java 17 or later (apt-get install openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[2,3]")
               .appName("hashret-tests").config("spark.ui.enabled", "false")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.shuffle.partitions", "2")
               # small Arrow batches: a partition is encoded in several
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "64")
               .getOrCreate())
    yield session
    session.stop()
