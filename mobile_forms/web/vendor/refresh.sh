#!/usr/bin/env bash
# Refresh the vendored front-end libraries from the npm registry at the pinned versions below.
# Each library keeps its licence and the file(s) the pages load; nothing else. Run from anywhere:
#   bash mobile_forms/web/vendor/refresh.sh
# To upgrade, change a version here, run this, run `make test`, and commit the result.
set -euo pipefail
cd "$(dirname "$0")"

# name  version  files to keep (paths inside the package)
PACKAGES=(
  "axe-core 4.11.0 axe.min.js LICENSE"  # accessibility checks in tests/browser (not loaded by the app)
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for spec in "${PACKAGES[@]}"; do
  read -r name version files <<<"$spec"
  tarball=$(cd "$work" && npm pack --silent "${name}@${version}")
  mkdir -p "$work/$name" && tar -xzf "$work/$tarball" -C "$work/$name"
  rm -rf "./$name" && mkdir -p "./$name"
  for f in $files; do cp "$work/$name/package/$f" "./$name/"; done
  echo "$name@$version" > "./$name/VERSION"
  echo "vendored $name@$version: $files"
done
