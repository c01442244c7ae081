#!/usr/bin/env bash
# make deb: turns a `make install DESTDIR=STAGE PREFIX=/usr` tree into
# OUT/rpxy_<version>_<arch>.deb with dpkg-deb: /etc/rpxy/config.toml and the
# logrotate file as conffiles, compressed man pages, the Debian docs, the
# maintainer scripts of dist/debian/ (postinst creates the user rpxy), a
# stripped binary and Depends computed by dpkg-shlibdeps. Prints the path
# of the package.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=$(realpath "$1")
out=$(realpath "$2")
version=$(cat VERSION)
arch=$(dpkg --print-architecture)
doc="$stage/usr/share/doc/rpxy"

# the starting config becomes the conffile; the annotated example stays a doc
install -D -m 0644 "$doc/config.toml" "$stage/etc/rpxy/config.toml"
rm "$doc/config.toml"
gzip -9n "$stage"/usr/share/man/man*/*
# as dh_strip does (the debug symbols stay in the build directory's binary)
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$stage/usr/sbin/rpxy"
install -m 0644 dist/debian/copyright "$doc/copyright"
{
  printf 'rpxy (%s) unstable; urgency=medium\n\n' "$version"
  printf '  * Built from source with make deb.\n\n'
  # the date of the last commit keeps the package reproducible
  printf ' -- %s  %s\n' "$(sed -n 's/^Maintainer: //p' dist/debian/control.in)" \
    "$(git log -1 --format=%aD 2>/dev/null || date -R)"
} | gzip -9n > "$doc/changelog.gz"

shlib=$(mktemp -d)
trap 'rm -rf "$shlib"' EXIT
mkdir "$shlib/debian"
printf 'Source: rpxy\n\nPackage: rpxy\nArchitecture: any\n' > "$shlib/debian/control"
depends=$(cd "$shlib" && dpkg-shlibdeps -O -e "$stage/usr/sbin/rpxy" 2>/dev/null \
  | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "make-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$stage/DEBIAN"
size=$(du -k -s --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
  -e "s|@DEPENDS@|$depends|" dist/debian/control.in > "$stage/DEBIAN/control"
install -m 0644 dist/debian/conffiles "$stage/DEBIAN/conffiles"
install -m 0755 dist/debian/postinst dist/debian/prerm dist/debian/postrm "$stage/DEBIAN/"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
  | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$stage/DEBIAN/md5sums"

deb="$out/rpxy_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
