#!/usr/bin/env bash
# Vendor the onnxruntime-web files the in-browser app needs (MIT licence) into the package, so the
# page never loads code from a CDN. Run from the repository root; needs npm (the npm registry).
# Usage: bash scripts/vendor_onnxruntime_web.sh [VERSION]
set -euo pipefail
VERSION=${1:-1.30.0}
DEST=src/agegender/web/static/ort
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-web@$VERSION" >/dev/null && tar xzf "onnxruntime-web-$VERSION.tgz")
rm -rf "$DEST"
mkdir -p "$DEST"
# the WebAssembly-only build (CPU): loader script, its ES module, and the wasm binary (stored gzipped,
# served with Content-Encoding: gzip — 14 MB → 3.7 MB)
cp "$tmp/package/dist/ort.wasm.min.js" "$tmp/package/dist/ort-wasm-simd-threaded.mjs" "$DEST/"
gzip -9 -n -c "$tmp/package/dist/ort-wasm-simd-threaded.wasm" > "$DEST/ort-wasm-simd-threaded.wasm.gz"
# the npm package ships no LICENSE file; its files say "Licensed under the MIT License"
license=$(node -p "require('$tmp/package/package.json').license")
cat > "$DEST/LICENSE" <<TXT
onnxruntime-web $VERSION — Copyright (c) Microsoft Corporation. Licence: $license.
Source: https://github.com/microsoft/onnxruntime (npm package onnxruntime-web, files from dist/).

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
TXT
echo "$VERSION" > "$DEST/VERSION"
ls -l "$DEST"
