#!/usr/bin/env bash
# The new-user check: a bare Debian 12 root built with debootstrap, given only what a new machine
# of this kind starts with (Node 20 + npm, git, python3, make, g++, the registries' certificate
# bundle), a clean clone of this repository's HEAD copied in, and the README's two quick-start
# commands run inside it under chroot. Prints the last lines of both commands and exits non-zero
# when either fails. Needs root; takes 10-20 minutes (Debian packages and the full test suite).
#
#   bash scripts/fresh-machine.sh              # reuse the cached bare base root if it exists
#   CNN_FRESH_DIR=/somewhere bash scripts/fresh-machine.sh --rebuild-base
#
# Where: $CNN_FRESH_DIR (default /var/tmp/cnn-fresh), outside the repository. base/ is the bare root
# (made once, never modified afterwards); every run copies it to run/ and works there, so a run
# never sees what an earlier run installed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${CNN_FRESH_DIR:-/var/tmp/cnn-fresh}"
base="$dir/base"
root="$dir/run"
lines="${CNN_FRESH_TAIL:-15}"

if [ "$(id -u)" -ne 0 ]; then echo "fresh-machine.sh: needs root (debootstrap and chroot)" >&2; exit 2; fi
case "${1:-}" in
  "") ;;
  --rebuild-base) rm -rf "$base" ;;
  *) echo "fresh-machine.sh: unknown argument '$1'; expected nothing or --rebuild-base" >&2; exit 2 ;;
esac

# The mirror this machine's apt uses (deb822 sources first, then the one-line format).
mirror="$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)"
if [ -z "$mirror" ]; then mirror="$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)"; fi
mirror="${mirror:-http://deb.debian.org/debian}"

unmount_all() {
  for m in sys dev proc; do
    if mountpoint -q "$root/$m"; then umount -R "$root/$m" || umount -lR "$root/$m" || true; fi
  done
}
trap unmount_all EXIT

if [ ! -e "$base/.cnn-base-ready" ]; then
  command -v debootstrap >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }
  rm -rf "$base"
  mkdir -p "$dir"
  echo "==> debootstrap --variant=minbase bookworm $base $mirror"
  debootstrap --variant=minbase bookworm "$base" "$mirror" >"$dir/debootstrap.log" 2>&1 || { tail -n 20 "$dir/debootstrap.log"; exit 1; }

  # What a new machine of this kind has besides Debian's base: this machine's Node 20 and npm
  # (Debian's own nodejs is 18, too old for the engines field), and the registries' settings: the
  # certificate bundle of the TLS proxy they are reached through, npm's and apt's configuration.
  node_bin="$(readlink -f "$(command -v node)")"
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  install -D -m 0755 "$node_bin" "$base/usr/bin/node"
  mkdir -p "$base/usr/lib/node_modules"
  cp -a "$npm_dir" "$base/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$base/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$base/usr/bin/npx"
  bundle=/etc/ssl/certs/ca-certificates.crt
  install -D -m 0644 "$bundle" "$base/etc/ssl/certs/ca-certificates.crt"
  install -D -m 0644 "$bundle" "$base/usr/local/share/ca-certificates/host-bundle.crt"
  for f in /etc/npmrc /etc/apt/apt.conf.d/99artifact-registry /etc/apt/sources.list.d/debian.sources; do
    if [ -e "$f" ]; then install -D -m 0644 "$f" "$base$f"; fi
  done
  if [ -e "$base/etc/apt/sources.list.d/debian.sources" ]; then rm -f "$base/etc/apt/sources.list"; fi
  cp -L /etc/resolv.conf "$base/etc/resolv.conf"

  echo "==> base packages (ca-certificates git python3 make g++ xz-utils)"
  mount -t proc proc "$base/proc"
  chroot "$base" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive bash -c \
    'apt-get update -q && apt-get install -y -q --no-install-recommends ca-certificates git python3 make g++ xz-utils && update-ca-certificates >/dev/null' \
    >"$dir/base-packages.log" 2>&1 || { umount "$base/proc"; tail -n 20 "$dir/base-packages.log"; exit 1; }
  umount "$base/proc"
  chroot "$base" node --version >/dev/null
  touch "$base/.cnn-base-ready"
fi

echo "==> fresh copy of the base root"
rm -rf "$root"
cp -a "$base" "$root"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/work"
git clone -q --no-hardlinks "$repo" "$root/work/cnn"
git -C "$root/work/cnn" checkout -q "$(git -C "$repo" rev-parse HEAD)"
# CI places shared/ beside the clone; do the same when this checkout has one.
if [ -d "$repo/../shared" ]; then cp -a "$repo/../shared" "$root/work/shared"; fi

mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
mount --rbind /sys "$root/sys"
mount --make-rslave "$root/sys"

in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM=dumb CI=true \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    bash -c "cd /work/cnn && $1"
}

status=0
echo "==> bash scripts/quickstart.sh (inside the bare root)"
start=$SECONDS
if in_root 'bash scripts/quickstart.sh' >"$dir/quickstart.log" 2>&1; then qs=ok; else qs="failed ($?)"; status=1; fi
echo "--- quickstart: $qs in $((SECONDS - start)) s; last $lines lines of $dir/quickstart.log:"
tail -n "$lines" "$dir/quickstart.log"

if [ "$qs" = ok ]; then
  echo "==> pnpm test (inside the bare root)"
  start=$SECONDS
  if in_root 'pnpm test' >"$dir/test.log" 2>&1; then t=ok; else t="failed ($?)"; status=1; fi
  echo "--- pnpm test: $t in $((SECONDS - start)) s; last $lines lines of $dir/test.log:"
  tail -n "$lines" "$dir/test.log"
fi
exit $status
