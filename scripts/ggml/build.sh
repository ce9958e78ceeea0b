#!/usr/bin/env bash
# Builds scripts/ggml/matvec.c against the ggml that the llama-cpp-python package built from
# source (its llama_cpp/lib/libggml*.so), with the headers of the same version's sdist from
# PyPI, into out/ggml/matvec (git-ignored; nothing of llama.cpp is committed). Prints the path.
#   PYTHON=/path/to/python-with-llama-cpp-python bash scripts/ggml/build.sh
# Then: qtool bench kernels --backend cpu-q8 --shapes 4096x4096,11008x4096 --batch 1 \
#         --llamacpp out/ggml/matvec --out reports/kernels-cpu-q8-<machine>.md
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-$( [ -x /work/pyref/bin/python ] && echo /work/pyref/bin/python || echo python3 )}
LIB=$("$PYTHON" -c 'import llama_cpp, os; print(os.path.join(os.path.dirname(llama_cpp.__file__), "lib"))') || {
  echo "error: $PYTHON has no llama_cpp; install llama-cpp-python (it builds llama.cpp from source)" >&2; exit 1; }
VERSION=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')
D=out/ggml
mkdir -p "$D"
INC=$D/llama_cpp_python-$VERSION/vendor/llama.cpp/ggml/include
if [ ! -f "$INC/ggml.h" ]; then
  # The sdist itself, from the package index's simple API (pip download --no-binary would
  # build it), checked against the sha256 the index lists.
  "$PYTHON" - "$VERSION" "$D" <<'PY'
import hashlib, re, sys, urllib.parse, urllib.request
version, dest = sys.argv[1], sys.argv[2]
index = "https://pypi.org/simple/llama-cpp-python/"
page = urllib.request.urlopen(index).read().decode()
name = f"llama_cpp_python-{version}.tar.gz"
m = re.search(r'href="([^"]*' + re.escape(name) + r')#sha256=([0-9a-f]{64})"', page)
if not m:
    sys.exit(f"{index} lists no {name}")
url, sha = urllib.parse.urljoin(index, m.group(1)), m.group(2)
data = urllib.request.urlopen(url).read()
if hashlib.sha256(data).hexdigest() != sha:
    sys.exit(f"sha256 mismatch for {url}")
open(f"{dest}/{name}", "wb").write(data)
PY
  tar -xzf "$D/llama_cpp_python-$VERSION.tar.gz" -C "$D" "llama_cpp_python-$VERSION/vendor/llama.cpp/ggml/include"
fi
${CC:-cc} -O2 -o "$D/matvec" scripts/ggml/matvec.c -I"$INC" -L"$LIB" -lggml -lggml-base -lggml-cpu \
  -Wl,-rpath,"$LIB" -lm
echo "$D/matvec"
