"""Build the optional C accelerator `bot.esx._lsofcount` (see bot/esx/_lsofcount.c).

Everything else is declared in pyproject.toml. `optional=True`: without a C compiler the
build goes on and `bot.esx.lsof` counts in Python instead (the same answer, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "bot.esx._lsofcount",
            sources=["bot/esx/_lsofcount.c"],
            optional=True,
        )
    ]
)
