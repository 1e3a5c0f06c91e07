#!/usr/bin/env bash
# Build llama.cpp's llama-server once into the cache and write a tiny random-weight GGUF model.
# Why from the llama-cpp-python sdist: it is on the package index (no other network needed) and
# vendors the llama.cpp sources; no binary llama-server is published there.
# Only the llama-server target is built, Release, static, so the binary can be copied to bin/.
# Idempotent: a second run with STAMP current returns at once.
set -euo pipefail
source "$(dirname "$0")/common.sh"

DIR="$SLOCHECK_CACHE/llamacpp"
WANT="llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION gguf==$GGUF_VERSION model=tiny-v1"
mkdir -p "$DIR"
if stamp_ok "$DIR" "$WANT" && [ -x "$DIR/bin/llama-server" ] && [ -f "$DIR/models/tiny.gguf" ]; then
    log "llama.cpp: present in $DIR ($WANT)"
    exit 0
fi
rm -f "$DIR/STAMP" "$DIR/FAILED"
JOBS="${SLOCHECK_BUILD_JOBS:-$(nproc)}"
start=$(date +%s)

if [ ! -d "$DIR/src/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION" ]; then
    log "llama.cpp: downloading the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist"
    rm -rf "$DIR/sdist" && mkdir -p "$DIR/sdist" "$DIR/src"
    "$PYTHON" -m pip download -q --disable-pip-version-check --no-binary :all: --no-deps \
        -d "$DIR/sdist" "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"
    tar -xzf "$DIR/sdist"/llama_cpp_python-*.tar.gz -C "$DIR/src" 2>/dev/null \
        || tar -xzf "$DIR/sdist"/llama-cpp-python-*.tar.gz -C "$DIR/src"
    for d in "$DIR/src"/llama_cpp_python-*; do
        [ -d "$d" ] && mv "$d" "$DIR/src/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION"
    done
    rm -rf "$DIR/sdist"  # 74 MB, no longer needed
fi
SRC="$DIR/src/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp"
[ -f "$SRC/CMakeLists.txt" ] || { echo "no llama.cpp sources in $SRC" >&2; exit 1; }

if [ ! -x "$DIR/bin/llama-server" ]; then
    log "llama.cpp: building llama-server with $JOBS jobs (about 10 min on 2 cores; log: $DIR/build.log)"
    command -v cmake >/dev/null || { echo "cmake is not installed" >&2; exit 1; }
    command -v g++ >/dev/null || command -v c++ >/dev/null || { echo "no C++ compiler" >&2; exit 1; }
    {
        cmake -S "$SRC" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
            -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
        nice -n 10 cmake --build "$DIR/build" --config Release --target llama-server -j "$JOBS"
    } >"$DIR/build.log" 2>&1 || { tail -n 20 "$DIR/build.log" >&2; echo "build failed: $DIR/build.log" >&2; exit 1; }
    mkdir -p "$DIR/bin"
    cp "$DIR/build/bin/llama-server" "$DIR/bin/llama-server.tmp"
    mv "$DIR/bin/llama-server.tmp" "$DIR/bin/llama-server"
    log "llama.cpp: built in $(( $(date +%s) - start )) s"
fi

if ! stamp_ok "$DIR/venv" "gguf==$GGUF_VERSION"; then
    log "llama.cpp: creating the gguf venv"
    rm -rf "$DIR/venv"
    "$PYTHON" -m venv "$DIR/venv"
    "$DIR/venv/bin/pip" install -q --disable-pip-version-check "gguf==$GGUF_VERSION" "numpy<3"
    echo "gguf==$GGUF_VERSION" >"$DIR/venv/STAMP"
fi
mkdir -p "$DIR/models"
"$DIR/venv/bin/python" "$SERVERS_DIR/make_tiny_gguf.py" \
    --vocab "$SRC/models/ggml-vocab-llama-spm.gguf" --out "$DIR/models/tiny.gguf"

echo "$WANT" >"$DIR/STAMP"
log "llama.cpp: ready in $DIR ($(( $(date +%s) - start )) s, $(du -sh "$DIR" | cut -f1))"
