#!/usr/bin/env bash
# The layering contract in pyproject.toml ([tool.importlinter]), checked by import-linter.
# import-linter reads a package from the file system, and liveloom's subpackages sit in top-level folders
# (pyproject's package-dir), so their Python files are first copied into one `liveloom` tree.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir "$tree/liveloom"
cp liveloom/*.py "$tree/liveloom/"
for d in music engines models store ableton_bridge tools server; do
  find "$d" -name '*.py' -not -path '*/__pycache__/*' -exec cp --parents {} "$tree/liveloom/" \;
done
root=$PWD
cd "$tree"  # not the checkout: its own liveloom/ folder would be found first
PYTHONPATH="$tree" "$root/.venv/bin/lint-imports" --no-cache "$@" "$root/pyproject.toml"
