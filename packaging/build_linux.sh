#!/usr/bin/env bash
# Build the Linux one-folder app: dist/povdesk/ (povdesk-app, povdesk, _internal/) and
# dist/povdesk-<version>-linux-<arch>.tar.gz. Needs Python 3.11+ with venv; the build machine's
# glibc is the oldest the result runs on (see docs/installing.md).
#
#   bash packaging/build_linux.sh                      # build venv in build/venv-linux (made once)
#   bash packaging/build_linux.sh --python .venv/bin/python   # use a venv that already has pyinstaller
#   bash packaging/build_linux.sh --dist DIR --work DIR       # put the output and scratch elsewhere
#
# Prints the build time, the folder size and the archive size; the last line is the archive path.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

PY="" DIST="$ROOT/dist" WORK="$ROOT/build/pyinstaller"
while [ $# -gt 0 ]; do
  case "$1" in
    --python) PY="$2"; shift 2 ;;
    --dist) DIST="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "build_linux.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [ -z "$PY" ]; then
  VENV="$ROOT/build/venv-linux"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating the build venv $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
  PY="$VENV/bin/python"
  echo "== installing povdesk and PyInstaller into the build venv"
  # '.[build]' carries PyInstaller once pyproject.toml has the build extra; until then, or if the
  # extra is missing, PyInstaller is installed on its own.
  "$PY" -m pip install -q ".[build]"
  "$PY" -c "import PyInstaller" 2>/dev/null || "$PY" -m pip install -q "pyinstaller>=6.5,<7"
fi
"$PY" -c "import PyInstaller" 2>/dev/null || { echo "build_linux.sh: PyInstaller is not installed for $PY" >&2; exit 2; }

VERSION="$("$PY" -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])")"
ARCH="$(uname -m)"
ARCHIVE="$DIST/povdesk-$VERSION-linux-$ARCH.tar.gz"

echo "== PyInstaller $("$PY" -c "import PyInstaller; print(PyInstaller.__version__)"), povdesk $VERSION"
start=$(date +%s%N)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$WORK" \
  packaging/povdesk.spec
built=$(date +%s%N)

rm -f "$ARCHIVE"
tar -C "$DIST" -czf "$ARCHIVE" povdesk
done_at=$(date +%s%N)

"$DIST/povdesk/povdesk" --version >/dev/null  # the build runs at all
echo "== build $(( (built - start) / 1000000 )) ms, archive $(( (done_at - built) / 1000000 )) ms"
echo "== folder  $(du -sh "$DIST/povdesk" | cut -f1)  $DIST/povdesk"
echo "== archive $(du -sh "$ARCHIVE" | cut -f1)  $ARCHIVE"
echo "$ARCHIVE"
