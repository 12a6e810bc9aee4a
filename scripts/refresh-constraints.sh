#!/usr/bin/env bash
# Re-resolve constraints.txt: the exact versions Docker, Heroku and CI install.
# Run it on Python 3.11 (the oldest Python Touchpoint supports) when a dependency in
# pyproject.toml changes or to take newer releases, then run the tests and commit both files.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install -q --upgrade pip
"$scratch/venv/bin/python" -m pip install -q '.[test]'
{
  echo "# Exact versions of every package Touchpoint and its tests install, resolved on"
  echo "# $("$scratch/venv/bin/python" --version) by scripts/refresh-constraints.sh; used with pip's -c by the"
  echo "# Dockerfile, requirements.txt (Heroku) and .ci/run. Refresh with that script."
  "$scratch/venv/bin/python" -m pip freeze --all --exclude pip --exclude touchpoint
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages"
