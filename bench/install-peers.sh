#!/usr/bin/env bash
# Installs the peers the data-plane benchmark compares Lateen with: nginx and
# HAProxy, from Debian's packages. Idempotent: does nothing when both are on
# PATH. The benchmark runs them with its own configuration files; the
# packages' own services are not used (they are stopped if the package
# started them).
set -euo pipefail

need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
if [ ${#need[@]} -eq 0 ]; then
	echo "install-peers: nginx and haproxy already installed"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' init scripts from starting system-wide services.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
	"${sudo[@]}" chmod +x "$policy"
	created_policy=1
fi
cleanup() {
	if [ "$created_policy" = 1 ]; then "${sudo[@]}" rm -f "$policy"; fi
}
trap cleanup EXIT

"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
nginx -v
haproxy -v | head -1
