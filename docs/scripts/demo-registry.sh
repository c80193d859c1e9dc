#!/bin/bash
# A registry of your own for step 09's page, and an image pushed to it by hand, as `docker push`
# does it: no docker, only Debian's docker-registry (the CNCF distribution registry), tar, gzip,
# sha256sum and curl.
#
#   demo-registry.sh start   docker-registry on 127.0.0.1:5000, its data and logs in /tmp/ctr-registry
#                            (access.log: one line per request it answered)
#   demo-registry.sh push    127.0.0.1:5000/demo/hello:v1, two layers: the repository's rootfs/,
#                            then a small one that adds /hello.txt and deletes /etc/os-release
#   demo-registry.sh stop    the registry stopped, /tmp/ctr-registry removed
set -euo pipefail

DIR=/tmp/ctr-registry
ADDR=127.0.0.1:5000
REPOSITORY=demo/hello
TAG=v1
TOP=$(cd "$(dirname "$0")/../.." && pwd)

die() {
  echo "demo-registry: $*" >&2
  exit 1
}

start() {
  command -v docker-registry >/dev/null || die "docker-registry is not installed: apt-get install docker-registry"
  [ -e "$DIR" ] && die "$DIR exists: a registry runs already, or stop it first ($0 stop)"
  mkdir -p "$DIR/root"
  cat >"$DIR/config.yml" <<CONFIG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $DIR/root
  delete:
    enabled: true
http:
  addr: $ADDR
CONFIG
  # Its access log (one line per request, in Apache's combined format) goes to stdout; appended
  # to, so that emptying it between two demos leaves no hole where the registry's offset was.
  setsid docker-registry serve "$DIR/config.yml" >>"$DIR/access.log" 2>"$DIR/registry.log" </dev/null &
  echo $! >"$DIR/pid"
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://$ADDR/v2/" 2>/dev/null && { : >"$DIR/access.log"; echo "registry on $ADDR"; return; }
    sleep 0.1
  done
  die "docker-registry did not answer on $ADDR: see $DIR/registry.log"
}

# The digest of a file: what the registry and every client name it by.
digest() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

# POST starts an upload, PUT to the Location it answers with ends it, ?digest= says what it must be.
push_blob() {
  local file=$1 location
  curl -fsS -o /dev/null -I "http://$ADDR/v2/$REPOSITORY/blobs/$(digest "$file")" 2>/dev/null && return
  location=$(curl -fsS -X POST -D - -o /dev/null "http://$ADDR/v2/$REPOSITORY/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case $location in /*) location="http://$ADDR$location" ;; esac
  case $location in *\?*) location="$location&" ;; *) location="$location?" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" \
    "${location}digest=$(digest "$file")"
}

# A layer: a tar of the directory with owners as numbers, members sorted and every time set to
# 0, then gzip -n (no name or time in its header): the same tree gives the same digest, as
# reproducible image builds do it.
pack() {
  tar --create --file="$2.tar" --numeric-owner --sort=name --mtime=@0 --directory="$1" .
  gzip -n -c "$2.tar" >"$2.tar.gz"
}

push() {
  [ -e "$DIR/pid" ] || die "no registry runs: $0 start first"
  [ -x "$TOP/rootfs/bin/sh" ] || die "$TOP/rootfs has no /bin/sh: make it first (pnpm rootfs)"
  local build=$DIR/build
  rm -rf "$build" && mkdir -p "$build/top/etc"
  pack "$TOP/rootfs" "$build/base"
  echo 'hello from the top layer' >"$build/top/hello.txt"
  # The OCI whiteout: an empty file .wh.NAME deletes NAME of the layers below.
  : >"$build/top/etc/.wh.os-release"
  chmod 755 "$build/top"
  pack "$build/top" "$build/top"
  # The config: what to run and how, and the digests of the uncompressed layers (diff_ids).
  printf '%s' "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\",\"GREETING=hello\"],\"Cmd\":[\"cat\",\"/hello.txt\"],\"WorkingDir\":\"/srv/app\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"$(digest "$build/base.tar")\",\"$(digest "$build/top.tar")\"]}}" >"$build/config.json"
  local layer='application/vnd.oci.image.layer.v1.tar+gzip'
  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$(digest "$build/config.json")\",\"size\":$(stat -c %s "$build/config.json")},\"layers\":[{\"mediaType\":\"$layer\",\"digest\":\"$(digest "$build/base.tar.gz")\",\"size\":$(stat -c %s "$build/base.tar.gz")},{\"mediaType\":\"$layer\",\"digest\":\"$(digest "$build/top.tar.gz")\",\"size\":$(stat -c %s "$build/top.tar.gz")}]}" >"$build/manifest.json"
  for blob in base.tar.gz top.tar.gz config.json; do push_blob "$build/$blob"; done
  # The manifest last, under its tag: from now on the image exists.
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$build/manifest.json" "http://$ADDR/v2/$REPOSITORY/manifests/$TAG"
  rm -rf "$build"
  : >"$DIR/access.log"
  echo "pushed $ADDR/$REPOSITORY:$TAG"
}

stop() {
  if [ -e "$DIR/pid" ]; then
    kill "$(cat "$DIR/pid")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$DIR/pid")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$DIR"
}

case ${1:-} in
start | push | stop) "$1" ;;
*) die "usage: $0 start|push|stop" ;;
esac
