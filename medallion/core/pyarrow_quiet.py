"""pyarrow without the pandas import it would make on its first conversion of Python values."""

from __future__ import annotations

import functools
import sys


class _NoPandas:
    """An import finder that refuses pandas (see ``arrow``)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            raise ImportError("pandas is not used by the pipeline's datasets")


@functools.cache
def arrow():
    """``pyarrow``, ready to convert rows without importing pandas.

    The first time pyarrow converts Python values (``Table.from_pylist``, ``to_pylist``) it asks whether
    pandas is installed, by importing it: seconds of start-up for a library no stage uses. With pandas
    refused for that one question, pyarrow takes it as absent; asked for pandas explicitly (``to_pandas``,
    ``from_pandas``) it imports pandas then. Forked workers inherit the answer.
    """
    import pyarrow as pa

    if "pandas" not in sys.modules:
        finder = _NoPandas()
        sys.meta_path.insert(0, finder)
        try:
            pa.array([None])
        finally:
            sys.meta_path.remove(finder)
    return pa
