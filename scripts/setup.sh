#!/usr/bin/env bash
# Set up a Debian 12 (bookworm) machine for kconform: cross compilers, QEMU 10
# from bookworm-backports, and the Python package itself (editable).
# Idempotent: a second run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
  gcc-i686-linux-gnu libc6-dev-i386-cross
  cpio gzip xz-utils zstd kmod ca-certificates
  make patch bc gcc libc6-dev
  device-tree-compiler
)
QEMU_MIN_MAJOR=8

need_apt=0
for p in "${APT_PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt=1
done
qemu_major=0
if command -v qemu-system-aarch64 >/dev/null 2>&1; then
  qemu_major=$(qemu-system-aarch64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -1)
fi
[ "${qemu_major:-0}" -ge "$QEMU_MIN_MAJOR" ] || need_apt=1
# the x86_64 target (cases of arch/x86 code) boots Debian's amd64 kernel
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_apt=1

if [ "$need_apt" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # bookworm-backports carries QEMU 10, which stores MTE tags faithfully in
  # the nested setup (QEMU 7.2 does not). Derive its URI from the entry that
  # already names bookworm, so no host name is written here.
  src=/etc/apt/sources.list.d/kconform-backports.sources
  if [ ! -f "$src" ]; then
    uri=$(awk '/^URIs:/{u=$2} /^Suites:/ && / bookworm( |$)/{print u; exit}' \
          /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    if [ -z "$uri" ]; then
      uri=$(awk '$1=="deb" && $3=="bookworm"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    fi
    if [ -z "$uri" ]; then
      echo "setup: cannot find the Debian archive URI for bookworm in /etc/apt" >&2
      exit 2
    fi
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$uri" > "$src"
  fi
  apt-get update -q || echo "setup: apt-get update reported errors (unreachable extra sources are ignored)" >&2
  apt-get install -y -q --no-install-recommends "${APT_PKGS[@]}"
  apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-system-arm \
    qemu-system-x86
fi

python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[test]'
# pyenv-managed Pythons need their shims refreshed for a new console script.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
command -v kconform >/dev/null 2>&1 || {
  echo "setup: kconform is installed but not on PATH; add $(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))') to PATH" >&2
  exit 2
}
echo "setup: ok ($(qemu-system-aarch64 --version | head -1); $(qemu-system-x86_64 --version | head -1))"
