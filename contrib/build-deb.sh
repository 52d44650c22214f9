#!/usr/bin/env bash
# Builds dist/firehose_<VERSION>_<arch>.deb from release binaries with dpkg-deb alone (no debhelper,
# nothing from the network): `make deb` calls it after a release build with the Swift runtime
# linked in statically, so the package depends only on the C libraries it links, found with ldd
# and dpkg -S on this machine (their package names carry the ABI, e.g. libevent-2.1-7).
#
#   contrib/build-deb.sh <directory with firehose and firehose-bench> [<output directory>]
set -euo pipefail

bin_dir=${1:?usage: build-deb.sh <release binary directory> [<output directory>]}
root=$(cd "$(dirname "$0")/.." && pwd)
out_dir=${2:-$root/dist}
version=$(tr -d '[:space:]' < "$root/VERSION")
arch=$(dpkg --print-architecture)
name="firehose_${version}_${arch}"
stage="$out_dir/stage/$name"

for binary in firehose firehose-bench; do
    [ -x "$bin_dir/$binary" ] || { echo "build-deb: $bin_dir/$binary missing: build it first" >&2; exit 1; }
done

rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
# Stripped: the symbol table is a third of the size and Swift's runtime metadata lives elsewhere.
for binary in firehose firehose-bench; do
    install -D -m 0755 "$bin_dir/$binary" "$stage/usr/bin/$binary"
    strip --strip-unneeded "$stage/usr/bin/$binary"
done
install -D -m 0644 "$root/contrib/systemd/firehose.service" "$stage/usr/lib/systemd/system/firehose.service"
install -D -m 0644 "$root/contrib/systemd/firehose@.service" "$stage/usr/lib/systemd/system/firehose@.service"
install -D -m 0644 "$root/contrib/firehose.env" "$stage/etc/default/firehose"
install -D -m 0644 "$root/LICENSE" "$stage/usr/share/doc/firehose/copyright"
gzip -9n < "$root/CHANGELOG.md" > "$stage/usr/share/doc/firehose/changelog.gz"
chmod 0644 "$stage/usr/share/doc/firehose/changelog.gz"

# Depends: the package owning each shared library the binaries load. A Swift runtime library
# here means --static-swift-stdlib did not take, and the package would not run anywhere else.
libraries=$(ldd "$stage/usr/bin/firehose" "$stage/usr/bin/firehose-bench" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
if grep -E '/lib(swift|Foundation|dispatch|BlocksRuntime)' <<<"$libraries"; then
    echo "build-deb: the binaries load the Swift runtime dynamically; build with --static-swift-stdlib" >&2
    exit 1
fi
owner_of() {
    # With merged /usr, dpkg may know a library under /lib or /usr/lib only.
    local path=$1 real
    real=$(readlink -f "$path")
    for candidate in "$path" "$real" "/usr$path" "/usr$real" "${path#/usr}" "${real#/usr}"; do
        dpkg -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1 && return 0
    done
    echo "build-deb: no package owns $path" >&2
    return 1
}
depends=""
for package in $(for library in $libraries; do owner_of "$library"; done | sort -u); do
    # At least the upstream version built against (the Debian revision would over-constrain).
    installed=$(dpkg-query -W -f='${Version}' "$package")
    depends="${depends:+$depends, }$package (>= ${installed%-*})"
done

cat > "$stage/DEBIAN/control" <<CONTROL
Package: firehose
Version: $version
Architecture: $arch
Maintainer: the firehose-swift authors
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $depends
Section: net
Priority: optional
Description: Firehose-compatible real-time pub/sub server
 Publishers PUT a message to a channel path; clients long-poll that path or
 hold a WebSocket on it and receive every message in order, resuming by
 sequence number. Wire-compatible with Ruby Firehose, including its Redis
 keys, so nodes of both kinds can share one Redis.
 .
 Ships firehose (server and small clients), firehose-bench (load generator),
 systemd units firehose.service and firehose@PORT.service, and their
 environment file /etc/default/firehose.
CONTROL
echo /etc/default/firehose > "$stage/DEBIAN/conffiles"

# Maintainer scripts: the systemd steps run only when systemd is the running init; in a
# container, chroot or CI without it there is nothing to tell.
cat > "$stage/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    if [ -z "$2" ]; then
        # First installation: enable and start. On upgrades the administrator's choice stands.
        systemctl enable firehose.service
        systemctl start firehose.service || echo "firehose.service did not start: journalctl -u firehose" >&2
    else
        systemctl try-restart firehose.service 'firehose@*.service' || true
    fi
fi
SCRIPT
cat > "$stage/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
# On removal stop every instance and disable it (no dangling links once the units are gone);
# on upgrade keep them running: postinst restarts them on the new binary.
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop firehose.service 'firehose@*.service' || true
    systemctl disable firehose.service || true
    for link in /etc/systemd/system/*.wants/firehose@*.service; do
        [ -L "$link" ] && systemctl disable "$(basename "$link")" || true
    done
fi
SCRIPT
cat > "$stage/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if { [ "$1" = remove ] || [ "$1" = purge ]; } && [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
SCRIPT
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

mkdir -p "$out_dir"
# --root-owner-group: files owned by root in the package whoever builds it (no fakeroot needed).
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out_dir/$name.deb" >/dev/null
rm -rf "$out_dir/stage"
echo "$out_dir/$name.deb"
