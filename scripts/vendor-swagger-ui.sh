#!/usr/bin/env bash
# Refreshes the Swagger UI files that /docs serves from the binary (api/docs/swagger-ui).
# They are committed, so building identityd needs no network and the docs need no CDN.
# To upgrade, change VERSION and INTEGRITY (npm view swagger-ui-dist@VERSION dist.integrity).
set -euo pipefail

VERSION=5.35.0
INTEGRITY=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==

cd "$(dirname "$0")/.."
dest=api/docs/swagger-ui
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
tarball="$work/swagger-ui-dist-$VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$got" != "$INTEGRITY" ]; then
	echo "integrity mismatch for swagger-ui-dist@$VERSION: got $got" >&2
	exit 1
fi
tar -xzf "$tarball" -C "$work"
mkdir -p "$dest"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE; do
	cp "$work/package/$f" "$dest/$f"
done
echo "$VERSION" > "$dest/VERSION"
echo "vendored swagger-ui-dist@$VERSION into $dest"
