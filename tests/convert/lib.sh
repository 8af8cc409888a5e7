# Shared helpers of the synap convert tests: sourced by each test script.
# Usage of a test: TEST.sh TOOLS_DIR SOURCE_DIR [SHARED_DIR]
set -u
TOOLS=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
SHARED=${3:-}
SYNAP=$TOOLS/synap
DIGITS=$SRC/examples/digits/digits.onnx
W=$(mktemp -d "${TMPDIR:-/tmp}/synap-convert-test.XXXXXX")
trap 'rm -rf "$W"' EXIT
unset SYNAP_CACHE_DIR SYNAP_RULES_DIR
fails=0

ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
check_eq() { # NAME GOT WANT
  if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got [$2], want [$3]"; fi
}
# "stage:status ..." from OUT/build/stages.log, in the order they ran
stages_run() { awk '{printf "%s%s:%s", (NR > 1 ? " " : ""), $1, $2}' "$1/build/stages.log"; }
stage_names() { awk '{printf "%s%s", (NR > 1 ? " " : ""), $1}' "$1/build/stages.log"; }
same_file() { # NAME A B
  if cmp -s "$2" "$3"; then ok "$1"; else bad "$1: $2 and $3 differ"; fi
}
# Runs synap convert quietly; prints its combined output on failure.
convert_ok() { # NAME ARGS...
  local name=$1
  shift
  local out
  if out=$("$SYNAP" convert "$@" 2>&1); then
    if [ "$(printf '%s\n' "$out" | tail -n 1)" = "Conversion successful" ]; then
      ok "$name"
      return 0
    fi
  fi
  bad "$name: synap convert $*: $out"
  return 1
}
# Expects exit status 1 and exactly the message MSG on stderr, nothing on stdout.
expect_error() { # NAME MSG ARGS...
  local name=$1 want=$2
  shift 2
  local so se rc
  so=$("$SYNAP" convert "$@" 2>"$W/stderr")
  rc=$?
  se=$(cat "$W/stderr")
  if [ "$rc" = 1 ] && [ "$se" = "$want" ] && [ -z "$so" ]; then
    ok "$name"
  else
    bad "$name: status $rc, stdout [$so], stderr [$se], want status 1 and [$want]"
  fi
}
finish() {
  if [ "$fails" -gt 0 ]; then
    echo "$fails check(s) failed"
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
need_shared() { # FILE...: skip (exit 77) when the shared models are absent
  for f in "$@"; do
    if [ -z "$SHARED" ] || [ ! -f "$SHARED/$f" ]; then
      echo "SKIP: $SHARED/$f not found (the ../shared folder with the real models is absent)"
      exit 77
    fi
  done
}
