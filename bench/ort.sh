# shellcheck shell=bash
# Sourced by the bench scripts: ensure_ort installs ONNX Runtime (npm onnxruntime-node, pinned in
# package.json) into bench/node_modules unless it loads already. --ignore-scripts: the install
# script only fetches optional GPU providers from outside the registry; the CPU binding ships inside
# the package. Calls die (defined by the caller) on failure.
ensure_ort() {
  local here=$1
  command -v node >/dev/null || die "node not found (apt-get install nodejs npm)"
  if ! (cd "$here" && node -e "require('onnxruntime-node')" 2>/dev/null); then
    echo "installing onnxruntime-node into $here/node_modules ..." >&2
    (cd "$here" && npm install --ignore-scripts --no-save --no-package-lock --no-audit --no-fund >&2) ||
      die "npm install failed"
    (cd "$here" && node -e "require('onnxruntime-node')") || die "onnxruntime-node installed but does not load"
  fi
}
