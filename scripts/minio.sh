#!/bin/sh
# minio.sh installs the MinIO server that the S3 store's tests run against
# (store/s3store/miniotest), once, into a cache directory that later runs reuse.
#
#   scripts/minio.sh          install if missing, print the binary's path
#
# The first build takes several minutes on two cores. Tests find the
# binary at $COMPLY_MINIO_BIN, else at ${XDG_CACHE_HOME:-~/.cache}/comply-tools/minio.
set -eu

version=v0.0.0-20260212201848-7aac2a2c5b7c
cache=${XDG_CACHE_HOME:-$HOME/.cache}/comply-tools
bin=${COMPLY_MINIO_BIN:-$cache/minio}
stamp=$cache/minio.version

if [ -x "$bin" ] && { [ -n "${COMPLY_MINIO_BIN:-}" ] || [ "$(cat "$stamp" 2>/dev/null)" = "$version" ] || [ ! -e "$stamp" ]; }; then
	echo "$bin"
	exit 0
fi
if [ -n "${COMPLY_MINIO_BIN:-}" ]; then
	echo "minio.sh: COMPLY_MINIO_BIN=$COMPLY_MINIO_BIN is not an executable" >&2
	exit 1
fi
mkdir -p "$cache"
echo "minio.sh: building github.com/minio/minio@$version into $cache (several minutes, once)" >&2
GOBIN=$cache go install "github.com/minio/minio@$version"
echo "$version" > "$stamp"
echo "$bin"
