"""Build the optional C part of the XLSX reader (everything else is in pyproject.toml).

`optional=True`: where no C compiler is available the install still succeeds and the reader
uses its pure-Python handlers (same results, about 2× slower); see docs/performance.md.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pipeline.xlsx._scan",
            sources=["pipeline/xlsx/_scan.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                "-Wno-missing-field-initializers"],
        )
    ],
)
