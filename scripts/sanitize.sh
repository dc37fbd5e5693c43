#!/usr/bin/env bash
# Run the reader tests against pipeline/xlsx/_scan.c built with AddressSanitizer and
# UndefinedBehaviorSanitizer (developer check, not part of CI: ~3 min).
# The memory-limit tests (tests/test_hostile_limits.py, "running_out_of_memory") are left
# out: ASan reserves terabytes of address space and cannot run under `ulimit -v`.
# -s: a sanitizer report goes to stderr as the process dies; pytest must not capture it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
SO=$($PY -c "import sysconfig; print('pipeline/xlsx/_scan' + sysconfig.get_config_var('EXT_SUFFIX'))")
INC=$($PY -c "import sysconfig; print(sysconfig.get_paths()['include'])")
cp "$SO" "$SO.keep"
trap 'mv "$SO.keep" "$SO"' EXIT
gcc -shared -fPIC -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -I"$INC" pipeline/xlsx/_scan.c -o "$SO"
LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
ASAN_OPTIONS=detect_leaks=0 \
    $PY -m pytest -q -s -p no:cacheprovider ${PYTEST_ARGS:-} tests/test_native_scan.py tests/test_xlsx_reader.py \
    tests/test_hostile_parts.py tests/test_hostile.py tests/test_fuzz.py -k "not running_out_of_memory"
