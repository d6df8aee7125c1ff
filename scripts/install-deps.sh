#!/usr/bin/env bash
# Installs what reluc needs to build and run, and nothing when all of it is present.
#   - Debian packages: libxml2-dev, libopenblas-dev, pkg-config (apt-get, as root or through sudo)
#   - HiGHS, pinned, from the PyPI wheel `highsbox`: libhighs.so and its headers are copied to
#     $HIGHS_PREFIX (default /opt/highs-<version>), its pkg-config file is rewritten to point there
#     and installed as /usr/local/lib/pkgconfig/highs.pc, and the library directory is registered
#     with ldconfig so the reluc binary runs without LD_LIBRARY_PATH.
# Quiet when everything is already installed; idempotent.
set -euo pipefail

HIGHS_VERSION="1.15.1"
HIGHS_PREFIX="${HIGHS_PREFIX:-/opt/highs-${HIGHS_VERSION}}"
PC_DIR="/usr/local/lib/pkgconfig"
APT_PACKAGES=(libxml2-dev libopenblas-dev pkg-config python3-pip)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

say() { echo "install-deps: $*" >&2; }

# 1. Debian packages ---------------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  # python3-pip is only needed when no pip is on the machine already.
  if [ "$p" = python3-pip ] && python3 -m pip --version >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. HiGHS ---------------------------------------------------------------------------------------
highs_ok() {
  [ -f "$HIGHS_PREFIX/lib/libhighs.so" ] &&
    [ -f "$HIGHS_PREFIX/include/highs/interfaces/highs_c_api.h" ] &&
    [ "$(PKG_CONFIG_PATH="$PC_DIR" pkg-config --modversion highs 2>/dev/null)" = "$HIGHS_VERSION" ] &&
    [ "$(PKG_CONFIG_PATH="$PC_DIR" pkg-config --variable=prefix highs 2>/dev/null)" = "$HIGHS_PREFIX" ] &&
    ldconfig -p | grep -F "$HIGHS_PREFIX/lib/libhighs.so" >/dev/null  # not grep -q: with pipefail, SIGPIPE
    # to ldconfig when grep stops early made the check fail on a long cache
}
if ! highs_ok; then
  say "installing HiGHS $HIGHS_VERSION (PyPI wheel highsbox) into $HIGHS_PREFIX"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "highsbox==$HIGHS_VERSION"
  python3 - "$tmp" <<'PY'
import sys, zipfile, glob, os
tmp = sys.argv[1]
whl = glob.glob(os.path.join(tmp, "highsbox-*.whl"))[0]
zipfile.ZipFile(whl).extractall(os.path.join(tmp, "x"))
PY
  dist=$(find "$tmp/x" -type d -name highs_dist | head -n 1)
  [ -n "$dist" ] || { say "the highsbox wheel has no highs_dist folder"; exit 1; }
  $SUDO mkdir -p "$HIGHS_PREFIX/lib" "$HIGHS_PREFIX/include" "$PC_DIR"
  $SUDO cp "$dist/lib/libhighs.so" "$HIGHS_PREFIX/lib/"
  $SUDO rm -rf "$HIGHS_PREFIX/include/highs"
  $SUDO cp -R "$dist/include/highs" "$HIGHS_PREFIX/include/"
  $SUDO cp "$dist/include/highs_export.h" "$HIGHS_PREFIX/include/" 2>/dev/null || true
  # The wheel's highs.pc names the build machine's paths (prefix /project/..., libdir .../lib64):
  # rewrite every path to the install prefix.
  sed -e "s|^prefix=.*|prefix=$HIGHS_PREFIX|" \
      -e 's|^libdir=.*|libdir=${prefix}/lib|' \
      -e 's|^includedir=.*|includedir=${prefix}/include/highs|' \
      "$dist/lib/pkgconfig/highs.pc" > "$tmp/highs.pc"
  $SUDO cp "$tmp/highs.pc" "$PC_DIR/highs.pc"
  echo "$HIGHS_PREFIX/lib" | $SUDO tee /etc/ld.so.conf.d/reluc-highs.conf >/dev/null
  $SUDO ldconfig
  highs_ok || { say "HiGHS install did not verify"; exit 1; }
fi
