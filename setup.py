"""The RDB reader's hot loop in C (docs/performance.md: Python alone reads 141k keys/s, the
target needs more), and the collectors' grouping of a batch's rows; everything else about the
package is in pyproject.toml.

Optional: without a C compiler the build goes on without them and the reader and collectors
run in Python, with the same results (rediscope/core/rdbfile/compiled.py,
rediscope/core/collectors/columns.py)."""

import sys
import warnings

from setuptools import Extension, setup

# setuptools' note on every editable install ("Editable installation ... folders with the same
# name as your package") is information, not a warning to act on: rediscope is its own folder.
warnings.filterwarnings("ignore", message=r"Editable installation\.")

FLAGS = [] if sys.platform == "win32" else ["-O2", "-Wall", "-Wextra"]

setup(
    ext_modules=[
        Extension(
            "rediscope.core.rdbfile._fast",
            sources=["rediscope/core/rdbfile/_fast.c"],
            depends=["rediscope/core/rdbfile/_fast_values.h"],
            extra_compile_args=FLAGS,
            optional=True,
        ),
        Extension(
            "rediscope.core.collectors._columns",
            sources=["rediscope/core/collectors/_columns.c"],
            extra_compile_args=FLAGS,
            optional=True,
        ),
    ]
)
