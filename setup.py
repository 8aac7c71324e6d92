"""The package list, found in the tree rather than kept by hand.

pyproject.toml maps the `clientgraph` package to `src`; setuptools' discovery names what it
finds relative to the folder it searches (`plan`, `web.static.graphiql`…), and pyproject.toml
cannot put `clientgraph.` before those names, so this file does. Folders without an
`__init__.py` (the static assets) count too, so that their files are package data.
"""

from setuptools import find_namespace_packages, setup

SUBPACKAGES = find_namespace_packages("src", exclude=["__pycache__", "*.__pycache__"])

setup(packages=["clientgraph", *(f"clientgraph.{name}" for name in SUBPACKAGES)])
