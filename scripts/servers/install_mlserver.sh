#!/usr/bin/env bash
# Install Seldon MLServer and its scikit-learn runtime into a venv in the cache, and write a tiny
# model (iris LogisticRegression) with its model-settings.json. Why a venv of its own: MLServer
# pins its own FastAPI/pydantic/prometheus versions, which must not meet slocheck's .venv.
# Idempotent: a second run with STAMP current returns at once.
set -euo pipefail
source "$(dirname "$0")/common.sh"

DIR="$SLOCHECK_CACHE/mlserver"
WANT="mlserver==$MLSERVER_VERSION mlserver-sklearn==$MLSERVER_VERSION model=iris-v1"
mkdir -p "$DIR"
if stamp_ok "$DIR" "$WANT" && [ -x "$DIR/venv/bin/mlserver" ] && [ -f "$DIR/models/iris/model-settings.json" ]; then
    log "MLServer: present in $DIR ($WANT)"
    exit 0
fi
rm -f "$DIR/STAMP" "$DIR/FAILED"
start=$(date +%s)
log "MLServer: installing mlserver $MLSERVER_VERSION and mlserver-sklearn into $DIR/venv"
rm -rf "$DIR/venv"
"$PYTHON" -m venv "$DIR/venv"
"$DIR/venv/bin/pip" install -q --disable-pip-version-check \
    "mlserver==$MLSERVER_VERSION" "mlserver-sklearn==$MLSERVER_VERSION"
rm -rf "$DIR/models"
"$DIR/venv/bin/python" "$SERVERS_DIR/make_iris_model.py" --out "$DIR/models/iris"
echo "$WANT" >"$DIR/STAMP"
log "MLServer: ready in $DIR ($(( $(date +%s) - start )) s, $(du -sh "$DIR" | cut -f1))"
