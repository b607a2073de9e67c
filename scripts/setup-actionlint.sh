#!/usr/bin/env bash
# Installs actionlint (the GitHub Actions workflow checker `make lint` runs) at a pinned version
# into .tools/bin, built from the Go module proxy. Does nothing when that version is there already.
set -euo pipefail
VERSION=v1.7.12
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
if [[ -x "$bin/actionlint" ]] && [[ "$("$bin/actionlint" -version 2>/dev/null | head -1)" == "$VERSION" ]]; then exit 0; fi
command -v go >/dev/null || { echo "missing go: install Go >= 1.23 (https://go.dev/dl) to build actionlint, or 'make setup-system'" >&2; exit 1; }
mkdir -p "$bin"
echo "building actionlint $VERSION from the Go module proxy..." >&2
# A throw-away GOBIN, then a rename: an interrupted build never leaves a half-written binary behind.
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
GOBIN="$work" CGO_ENABLED=0 go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION"
mv -f "$work/actionlint" "$bin/actionlint"
"$bin/actionlint" -version | head -1 >&2
