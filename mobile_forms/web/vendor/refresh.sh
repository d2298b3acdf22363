#!/usr/bin/env bash
# Refresh the vendored front-end libraries from the npm registry at the pinned versions below.
# Each library keeps its licence and the file(s) the pages load; nothing else. Run from anywhere:
#   bash mobile_forms/web/vendor/refresh.sh
# To upgrade, change a version here, run this, run `make test`, and commit the result.
set -euo pipefail
cd "$(dirname "$0")"

# npm package  version  folder here  files to keep (paths inside the package)
PACKAGES=(
  "axe-core 4.11.0 axe-core axe.min.js LICENSE"  # accessibility checks in tests/browser (not loaded by the app)
  # The dashboard's charts (console/lib/charts.js loads both, only when a chart is shown). Plot's UMD build
  # reads d3 from the global `d3`; it was built against d3 7.9.0, so d3 stays at that version.
  "@observablehq/plot 0.6.17 plot dist/plot.umd.min.js LICENSE"
  "d3 7.9.0 d3 dist/d3.min.js LICENSE"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for spec in "${PACKAGES[@]}"; do
  read -r name version folder files <<<"$spec"
  tarball=$(cd "$work" && npm pack --silent "${name}@${version}")
  mkdir -p "$work/$folder" && tar -xzf "$work/$tarball" -C "$work/$folder"
  rm -rf "./$folder" && mkdir -p "./$folder"
  for f in $files; do cp "$work/$folder/package/$f" "./$folder/"; done
  echo "$name@$version" > "./$folder/VERSION"
  echo "vendored $name@$version in $folder/: $files"
done
