#!/usr/bin/env bash
# Copy the committed core plus the working trainer/plugins into $SNAP (default /tmp/interplay-snap), so
# long experiments keep running while the working tree changes under them. Prints the PYTHONPATH to use.
set -euo pipefail
SNAP=${SNAP:-/tmp/interplay-snap}
rm -rf "$SNAP" && mkdir -p "$SNAP/interplay"
touch "$SNAP/interplay/__init__.py"
git archive HEAD core | tar -x -C "$SNAP/interplay"
cp -r trainer plugins "$SNAP/interplay/"
find "$SNAP" -name __pycache__ -prune -exec rm -rf {} +
echo "$SNAP"
