# Shared by the install scripts in scripts/servers/ (sourced, not run).
# The cache lives outside the repository so that a build survives `git clean` and is shared by
# every worktree of the machine; tests read the same path (tests/integration/servers.py).
SLOCHECK_CACHE="${SLOCHECK_CACHE:-$HOME/.cache/slocheck}"
SERVERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"

# Pinned versions: the stamp records them, so a change here triggers a reinstall.
MLSERVER_VERSION="1.7.1"
LLAMA_CPP_PYTHON_VERSION="0.3.36"
GGUF_VERSION="0.19.0"

log() { echo "servers: $*"; }

# stamp_ok DIR TEXT: true when DIR/STAMP holds exactly TEXT (the install is complete and current).
stamp_ok() { [ -f "$1/STAMP" ] && [ "$(cat "$1/STAMP")" = "$2" ]; }
