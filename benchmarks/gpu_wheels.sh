#!/usr/bin/env bash
# Download the wheels of benchmarks/gpu_wheels.txt for the GPU machine (CPython 3.12, Linux x86-64) into .whl/
# (git-ignored; carried to the device with `carry: [".whl", ...]`, see benchmarks/gpu_check.sh). Run from anywhere,
# on any machine that reaches PyPI:   bash benchmarks/gpu_wheels.sh
# Prints the folder's size: the device carries at most 64 MiB in all (wheels and data together).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
mkdir -p .whl
# only the names of the list (comments and blank lines dropped)
mapfile -t REQS < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' benchmarks/gpu_wheels.txt | grep -v '^$')
# PIP_FIND_LINKS off: a local wheel folder of this machine (another Python's) must not stand in for PyPI's
env -u PIP_FIND_LINKS "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_26_x86_64 \
  --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 --platform linux_x86_64 --platform any \
  -d .whl "${REQS[@]}" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
# one wheel a name, no stray versions left from an older list
n=$(ls .whl/*.whl | wc -l)
echo "${n} wheels for ${#REQS[@]} names in .whl/ ($(du -sh .whl | cut -f1))"
[ "$n" -eq "${#REQS[@]}" ] || { echo "!!! expected ${#REQS[@]} wheels: remove .whl/ and rerun" >&2; exit 1; }
