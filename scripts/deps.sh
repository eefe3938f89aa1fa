#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs, on Debian 12, whatever imgpull's build, tests and benchmarks need
# and the machine does not have yet. Needs root (or sudo) only if something is missing.
set -euo pipefail

pkgs=(
	build-essential cmake pkg-config
	libcurl4-openssl-dev libcjson-dev libssl-dev libarchive-dev zlib1g-dev libzstd-dev libisal-dev libyaml-dev
	libcmocka-dev
	docker-registry skopeo nginx-light containerd umoci apache2-utils
	openssl jq curl python3 python3-yaml python3-cryptography iproute2 procps ca-certificates time bc file librsvg2-bin valgrind
	fuse python3-fusepy zstd mmdebstrap pigz
	podman runc catatonit busybox-static
)
missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# Node.js and npm validate deploy/manifests; any install of them will do (a
# machine may have them from elsewhere, where Debian's npm would conflict).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Debian's nginx and containerd packages would start system services; the tests
# start their own instances on loopback ports, so keep the packaged ones down.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
	$sudo chmod +x /usr/sbin/policy-rc.d
	trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
