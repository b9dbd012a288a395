#!/usr/bin/env bash
# The packaging check (CI runs it on Linux through tests/packaging/test_frozen.py): build the app,
# unpack the archive into a temporary directory as a village laptop would receive it, and make the
# frozen executables do the main jobs headless, in an environment with nothing of Python or of
# the build in it (env -i, a temporary HOME). Fails on the first step that fails.
#
#   bash packaging/check_frozen.sh                          # build (build/venv-linux), then check
#   bash packaging/check_frozen.sh --python .venv/bin/python  # build with a venv that has pyinstaller
#   bash packaging/check_frozen.sh --no-build               # check the newest dist/povdesk-*.tar.gz
#   options: --dist DIR --work DIR (passed to build_linux.sh), --keep (keep the temporary directory)
#
# Steps: --version of both executables; demo; validate (exit 1, and exactly the planted findings);
# export-json; keys export, a county workspace, keys enrol / set-county, bundle export, inspect
# and import at the county; import-json of a 1,200-household file (its helper process); cards
# to PDF (the CJK font embedded, if pdffonts is installed); the desktop app offscreen on the demo
# (packaging/frozen_smoke.py: login, main window in Chinese, background check, dashboard charts,
# memory); portable mode (a povdesk-data folder beside the executable takes the data); under Xvfb
# with the X11 plugin when xvfb-run is installed.
# Ends with the figures: build time, folder and archive size, memory of the app.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

BUILD=1 KEEP=0 DIST="$ROOT/dist" BUILD_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0; shift ;;
    --keep) KEEP=1; shift ;;
    --python) BUILD_ARGS+=(--python "$2"); CHECK_PY="$2"; shift 2 ;;
    --dist) BUILD_ARGS+=(--dist "$2"); DIST="$2"; shift 2 ;;
    --work) BUILD_ARGS+=(--work "$2"); shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "check_frozen.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
# Reads pyproject.toml and the JSON reports (3.11+ for tomllib); the frozen app itself never uses it.
PY="${CHECK_PY:-python3}"
[ -n "${CHECK_PY:-}" ] || [ ! -x "$ROOT/build/venv-linux/bin/python" ] || PY="$ROOT/build/venv-linux/bin/python"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/povdesk-frozen.XXXXXX")"
cleanup() { if [ "$KEEP" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT
started=$(date +%s)

say() { echo "== $*"; }
fail() { echo "check_frozen.sh: FAILED: $*" >&2; exit 1; }

# expect CODES NAME COMMAND...: run with a time limit, keep stdout/stderr in $TMP/NAME.out/.err,
# fail unless the exit code is one of CODES (comma-separated).
expect() {
  local codes="$1" name="$2" rc=0
  shift 2
  timeout 300 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
  if [[ ",$codes," != *",$rc,"* ]]; then
    echo "--- $name: $*" >&2
    tail -n 20 "$TMP/$name.out" "$TMP/$name.err" >&2 || true
    fail "$name exited with $rc, expected $codes"
  fi
  say "$name: exit $rc"
}
json() { "$PY" -c "import json, sys; d = json.load(open(sys.argv[1], encoding='utf-8')); print($2)" "$1"; }

# ------------------------------------------------------------------ build
if [ "$BUILD" = 1 ]; then
  say "building"
  bash packaging/build_linux.sh "${BUILD_ARGS[@]}" | tee "$TMP/build.log"
  ARCHIVE="$(tail -n 1 "$TMP/build.log")"
else
  ARCHIVE="$(ls -t "$DIST"/povdesk-*-linux-*.tar.gz 2>/dev/null | head -n 1 || true)"
  [ -n "$ARCHIVE" ] || fail "no archive in $DIST (run without --no-build)"
  touch "$TMP/build.log"
fi
[ -f "$ARCHIVE" ] || fail "no archive: $ARCHIVE"
VERSION="$("$PY" -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])")"

# ------------------------------------------------------------------ unpack as a user would
mkdir -p "$TMP/usb" "$TMP/home" "$TMP/tmp" "$TMP/work"
tar -xzf "$ARCHIVE" -C "$TMP/usb"
APP="$TMP/usb/povdesk"
CLI="$APP/povdesk"
GUI="$APP/povdesk-app"
[ -x "$CLI" ] && [ -x "$GUI" ] || fail "the archive lacks povdesk or povdesk-app"

CLEAN=(env -i "PATH=/usr/bin:/bin" "HOME=$TMP/home" "LANG=C.UTF-8" "TMPDIR=$TMP/tmp" "POVDESK_DATA_DIR=$TMP/data")
PW=demo1234
ADMIN=(POVDESK_USER=admin "POVDESK_PASSWORD=$PW")
WORKER=(POVDESK_USER=worker "POVDESK_PASSWORD=$PW")
COUNTY=(POVDESK_USER=county "POVDESK_PASSWORD=$PW")
cd "$TMP/work"

# ------------------------------------------------------------------ command line
expect 0 version "${CLEAN[@]}" "$CLI" --version
[ "$(cat "$TMP/version.out")" = "povdesk $VERSION" ] || fail "povdesk --version says '$(cat "$TMP/version.out")', pyproject.toml $VERSION"
expect 0 app-version "${CLEAN[@]}" "$GUI" --version
[ "$(cat "$TMP/app-version.out")" = "povdesk $VERSION" ] || fail "povdesk-app --version says '$(cat "$TMP/app-version.out")'"

expect 0 demo "${CLEAN[@]}" POVDESK_LANG=en "$CLI" demo village.db
planted="$(sed -n 's/.* with \([0-9]*\) planted mistakes.*/\1/p' "$TMP/demo.out")"
[ -n "$planted" ] && [ "$planted" -gt 0 ] || fail "demo did not say how many mistakes it planted: $(cat "$TMP/demo.out")"

# Chinese by default: the count line, and exactly the planted findings.
expect 1 validate "${CLEAN[@]}" "${WORKER[@]}" "$CLI" validate village.db
count_line="$(tail -n 1 "$TMP/validate.out")"
[[ "$count_line" =~ ^检查\ 300\ 户：([0-9]+)\ 个错误，([0-9]+)\ 个警告 ]] || fail "validate count line: $count_line"
found=$(( BASH_REMATCH[1] + BASH_REMATCH[2] ))
[ "$found" = "$planted" ] || fail "validate found $found findings, demo planted $planted ($count_line)"
say "validate: $count_line (planted $planted)"
expect 1 validate-json "${CLEAN[@]}" "${WORKER[@]}" "$CLI" validate village.db --json
[ "$(json "$TMP/validate-json.out" "d['summary']['errors'] + d['summary']['warnings']")" = "$planted" ] \
  || fail "validate --json disagrees with the planted mistakes"

expect 0 export-json "${CLEAN[@]}" "${WORKER[@]}" "$CLI" export-json village.db -o village.jsonl
[ "$(wc -l < village.jsonl)" = 300 ] || fail "export-json wrote $(wc -l < village.jsonl) lines, not 300"

# Sync: the village learns the county's key, exports an encrypted bundle, the county imports it.
expect 0 county-init "${CLEAN[@]}" "${ADMIN[@]}" "$CLI" init county.db --region 522634 --name 雷山县
expect 0 county-user "${CLEAN[@]}" "${ADMIN[@]}" "POVDESK_NEW_PASSWORD=$PW" "$CLI" users add county.db county \
  --role county_coordinator
expect 0 keys-village "${CLEAN[@]}" "${WORKER[@]}" "$CLI" keys export village.db -o village.key
expect 0 keys-county "${CLEAN[@]}" "${ADMIN[@]}" "$CLI" keys export county.db -o county.key
expect 0 keys-enrol "${CLEAN[@]}" "${COUNTY[@]}" "$CLI" keys enrol county.db village.key
expect 0 keys-set-county "${CLEAN[@]}" "${ADMIN[@]}" "$CLI" keys set-county village.db county.key
expect 0 bundle-export "${CLEAN[@]}" "${WORKER[@]}" "$CLI" bundle export village.db -o up.pvb
[ -s up.pvb ] || fail "bundle export wrote no file"
expect 0 bundle-inspect "${CLEAN[@]}" POVDESK_LANG=en "$CLI" bundle inspect up.pvb
grep -q "village → county" "$TMP/bundle-inspect.out" || fail "bundle inspect: not a village → county bundle"
expect 0,1 bundle-import "${CLEAN[@]}" "${COUNTY[@]}" "$CLI" bundle import county.db up.pvb --json --workers 1
# A training (demo) village's bundle at a real county: every record is judged; those whose history
# holds township or county steps are rejected (authority follows the level that signs), the rest applied.
[ "$(json "$TMP/bundle-import.out" "d['summary']['applied'] + d['summary']['rejected']")" = 300 ] \
  || fail "the county did not judge 300 households"
[ "$(json "$TMP/bundle-import.out" "int(d['summary']['applied'] > 0)")" = 1 ] || fail "the county applied nothing"

# A county-sized import-json (over 4 MB): the helper process (a fork) and orjson in the frozen app.
expect 0 demo-big "${CLEAN[@]}" "$CLI" demo big.db --households 1200
expect 0 export-big "${CLEAN[@]}" "${WORKER[@]}" "$CLI" export-json big.db -o big.jsonl
expect 0 county2-init "${CLEAN[@]}" "${ADMIN[@]}" "$CLI" init county2.db --region 522634 --name 雷山县
expect 0 county2-user "${CLEAN[@]}" "${ADMIN[@]}" "POVDESK_NEW_PASSWORD=$PW" "$CLI" users add county2.db county \
  --role county_coordinator
expect 0,1 import-big "${CLEAN[@]}" "${COUNTY[@]}" "$CLI" import-json county2.db big.jsonl --json --workers 1
[ "$(json "$TMP/import-big.out" "d['summary']['imported']")" = 1200 ] || fail "import-json did not import 1200 households"

# Printing: household cards as PDF with the bundled CJK font embedded.
mkdir -p "$TMP/out"
expect 0 cards "${CLEAN[@]}" "${WORKER[@]}" "$CLI" cards village.db -o "$TMP/out/cards.pdf"
[ -s "$TMP/out/cards.pdf" ] || fail "cards wrote no PDF"
if command -v pdffonts >/dev/null 2>&1; then
  pdffonts "$TMP/out/cards.pdf" > "$TMP/pdffonts.out"
  grep -E "NotoSansSC.* yes +yes" "$TMP/pdffonts.out" >/dev/null || { cat "$TMP/pdffonts.out" >&2; fail "the CJK font is not embedded"; }
  say "cards: $(du -h "$TMP/out/cards.pdf" | cut -f1), NotoSansSC embedded"
else
  say "cards: $(du -h "$TMP/out/cards.pdf" | cut -f1) (pdffonts not installed: font not checked)"
fi

# ------------------------------------------------------------------ desktop app, offscreen
smoke() {  # smoke NAME [VAR=value...] -- [app arguments...]
  local name="$1"
  shift
  local vars=()
  while [ "$1" != "--" ]; do vars+=("$1"); shift; done
  shift
  expect 0,1 "$name" "${vars[@]}" "POVDESK_SMOKE_REPORT=$TMP/$name.json" "${WORKER[@]}" "$GUI" "$@"
  [ -s "$TMP/$name.json" ] || { tail -n 20 "$TMP/$name.out" "$TMP/$name.err" >&2; fail "$name: the app wrote no report"; }
  [ "$(json "$TMP/$name.json" "d['ok']")" = True ] \
    || fail "$name: $(json "$TMP/$name.json" "'; '.join(d['problems'])") (--keep keeps $TMP/$name.json)"
}
smoke app "${CLEAN[@]}" QT_QPA_PLATFORM=offscreen -- --demo --data-dir "$TMP/app-data"
json "$TMP/app.json" "'app: %(window_title)s; %(household_count_label)s; %(households_with_errors)s households with errors; %(dashboard_charts)s charts; font %(font)s; Qt says %(qt_cancel)s' % d" | sed 's/^/== /'
[ -f "$TMP/app-data/demo.db" ] || fail "the app did not create its demo in --data-dir"
# Again on the same data: the village is opened, not generated (the memory a user sees).
smoke reopen "${CLEAN[@]}" QT_QPA_PLATFORM=offscreen -- --demo --data-dir "$TMP/app-data"

# Portable: a povdesk-data folder beside the executable takes the data; the home stays empty.
mkdir -p "$APP/povdesk-data" "$TMP/home-portable"
smoke portable env -i "PATH=/usr/bin:/bin" "HOME=$TMP/home-portable" "LANG=C.UTF-8" "TMPDIR=$TMP/tmp" \
  QT_QPA_PLATFORM=offscreen -- --demo
[ -f "$APP/povdesk-data/demo.db" ] || fail "portable: no demo.db in povdesk-data beside the executable"
[ -z "$(find "$TMP/home-portable" -mindepth 1 -iname '*povdesk*' -print -quit)" ] || fail "portable: data written under HOME"
say "portable: data in povdesk-data/ ($(ls "$APP/povdesk-data" | tr '\n' ' '))"
rm -rf "$APP/povdesk-data"

# With the X11 plugin and the bundled xcb libraries, as on a Linux desktop.
if command -v xvfb-run >/dev/null 2>&1; then
  smoke xcb xvfb-run -a -s "-screen 0 1400x900x24" env "HOME=$TMP/home" "LANG=C.UTF-8" QT_QPA_PLATFORM=xcb \
    "POVDESK_DATA_DIR=$TMP/xcb-data" -- --demo
else
  say "xcb: xvfb-run not installed, skipped"
fi

# ------------------------------------------------------------------ figures
say "figures"
build_line="$(grep -m1 '^== build ' "$TMP/build.log" || true)"
if [ -n "$build_line" ]; then echo "build time:   ${build_line#== build }"; else echo "build time:   (not built in this run)"; fi
echo "folder size:  $(du -sh "$APP" | cut -f1) ($(du -sb "$APP" | cut -f1) bytes, unpacked from the archive)"
echo "archive size: $(du -h "$ARCHIVE" | cut -f1) ($(stat -c %s "$ARCHIVE") bytes) $(basename "$ARCHIVE")"
for run in "app:first start, demo generated, offscreen" "reopen:demo village opened, offscreen" \
           "xcb:first start, demo generated, X11 (Xvfb)"; do
  name="${run%%:*}"
  [ -f "$TMP/$name.json" ] || continue
  json "$TMP/$name.json" "'memory (${run#*:}): login %d MB, main window %d MB, dashboard %d MB (VmRSS)' % tuple(d[k] // 1024 for k in ('rss_kb_login', 'rss_kb_window', 'rss_kb_dashboard'))"
done
echo "check_frozen.sh: all steps passed in $(( $(date +%s) - started )) s"
