#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/static.sh [--print-cache-key]
#
# Builds a fully static x86_64 imgpull with musl into build-static/imgpull
# (stripped), on Debian 12, from Debian 12's own source packages of its
# dependencies: openssl, curl, cjson, libyaml, zlib, libarchive, libzstd, nghttp2 and
# libisal (Intel ISA-L, which inflates the gzip layers).
#
#  1. Installs what the machine lacks (musl-tools, dpkg-dev, autotools, cmake,
#     pkg-config, file, nasm), adds a deb-src entry
#     (/etc/apt/sources.list.d/imgpull-src.sources) and fetches the source
#     packages with apt-get source --download-only (newest version first; an
#     older one of the archive if the newest cannot be downloaded).
#  2. Unpacks them with dpkg-source -x (which applies Debian's patches) and
#     builds each with musl-gcc as a static library only, with just the
#     features imgpull needs, into one prefix:
#     $IMGPULL_STATIC_CACHE/<key> (default /var/cache/imgpull-static/<key>),
#     where <key> hashes the source versions, the musl and gcc versions and the
#     build recipe below. The prefix is built in a temporary directory, installed
#     into <key>.tmp and renamed to <key> when complete; a run that finds <key>
#     skips straight to step 3. The downloaded sources stay in
#     $IMGPULL_STATIC_CACHE/sources.
#  3. Configures build-static/ with CC=musl-gcc, PKG_CONFIG_LIBDIR=<prefix> and
#     -DIMGPULL_STATIC=ON, builds and strips imgpull, and checks that it is
#     statically linked, runs and inflates gzip with ISA-L.
#
# --print-cache-key prints <key> (after step 1's downloads) and exits.
# IMGPULL_STATIC_BUILD=DIR builds imgpull in DIR instead of build-static/.
# Needs root for apt-get and for the default cache directory.
set -euo pipefail

usage() {
	echo "usage: scripts/static.sh [--print-cache-key]" >&2
	exit 2
}
print_key=0
case $# in
0) ;;
1) [ "$1" = --print-cache-key ] || usage; print_key=1 ;;
*) usage ;;
esac

script=$(readlink -f "$0")
repo=$(cd "$(dirname "$script")/.." && pwd -P)
cache_root=$(realpath -m "${IMGPULL_STATIC_CACHE:-/var/cache/imgpull-static}")
case "$cache_root/" in
"$repo"/*) echo "static.sh: the cache ($cache_root) must be outside the clone" >&2; exit 2 ;;
esac
if [ "$(uname -m)" != x86_64 ]; then
	echo "static.sh: only x86_64 is supported" >&2
	exit 2
fi

pkgs=(zlib libzstd libisal openssl nghttp2 cjson libyaml libarchive curl)
t_start=$(date +%s)

say() { echo "static.sh: $*" >&2; }
die() { echo "static.sh: error: $*" >&2; exit 1; }
elapsed() { local s=$(($(date +%s) - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

work=$(mktemp -d "${TMPDIR:-/tmp}/imgpull-static.XXXXXX")
keep_work=0
cleanup() {
	if [ "$keep_work" = 1 ]; then
		say "build directory and logs kept in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
mkdir -p "$work/logs"

# --- 1. tools, deb-src entry, source packages --------------------------------

as_root() {
	[ "$(id -u)" -eq 0 ] || die "needs root to $*"
}

src_list=/etc/apt/sources.list.d/imgpull-src.sources
src_entry='Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'

apt_updated=0
apt_update() {
	as_root "run apt-get update"
	say "apt-get update"
	apt-get update -qq >"$work/logs/apt-update.log" 2>&1 || {
		tail -n 20 "$work/logs/apt-update.log" >&2
		die "apt-get update failed"
	}
	apt_updated=1
}

if [ ! -f "$src_list" ] || [ "$(cat "$src_list")" != "$src_entry" ]; then
	as_root "write $src_list"
	say "adding deb-src entry $src_list"
	printf '%s\n' "$src_entry" >"$src_list"
	apt_update
fi

tools=(musl-tools dpkg-dev build-essential autoconf automake libtool cmake pkg-config perl make file xz-utils nasm)
missing=()
for p in "${tools[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	as_root "install ${missing[*]}"
	[ "$apt_updated" = 1 ] || apt_update
	say "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>"$work/logs/apt-install.log" 2>&1 || {
		tail -n 20 "$work/logs/apt-install.log" >&2
		die "apt-get install failed"
	}
fi
if [ -z "$(apt-cache showsrc curl 2>/dev/null)" ] && [ "$apt_updated" = 0 ]; then
	apt_update
fi

mkdir -p "$cache_root/sources"
# One run at a time per cache: two runs must not build into the same <key>.tmp.
exec 9>"$cache_root/.lock"
flock 9

# The versions of source package $1 that apt knows, newest first.
src_versions() {
	local v vs=() i j t
	while read -r v; do vs+=("$v"); done < <(apt-cache showsrc "$1" 2>/dev/null |
		awk -v p="$1" '/^Package: /{ok = ($2 == p)} ok && /^Version: /{print $2}' | sort -u)
	for ((i = 0; i < ${#vs[@]}; i++)); do
		for ((j = i + 1; j < ${#vs[@]}; j++)); do
			if dpkg --compare-versions "${vs[j]}" gt "${vs[i]}"; then
				t=${vs[i]}; vs[i]=${vs[j]}; vs[j]=$t
			fi
		done
	done
	[ ${#vs[@]} -eq 0 ] || printf '%s\n' "${vs[@]}"
}

# Downloads source package $1 (newest version the mirror has) into
# $cache_root/sources unless already there; prints the version.
fetch_src() {
	local pkg=$1 v newest=""
	for v in $(src_versions "$pkg"); do
		[ -n "$newest" ] || newest=$v
		if [ ! -e "$cache_root/sources/.fetched_${pkg}_${v#*:}" ]; then
			if ! (cd "$cache_root/sources" && apt-get source --download-only -qq "$pkg=$v") \
				>>"$work/logs/apt-source.log" 2>&1; then
				continue
			fi
			touch "$cache_root/sources/.fetched_${pkg}_${v#*:}"
		fi
		[ "$v" = "$newest" ] || say "note: $pkg $newest is not downloadable from the mirror, using $v"
		echo "$v"
		return 0
	done
	return 1
}

declare -A ver
for p in "${pkgs[@]}"; do
	if ! ver[$p]=$(fetch_src "$p"); then
		# Stale indexes point at versions the mirror no longer has: refresh once.
		[ "$apt_updated" = 0 ] || { tail -n 20 "$work/logs/apt-source.log" >&2; die "cannot download source package $p"; }
		apt_update
		ver[$p]=$(fetch_src "$p") || { tail -n 20 "$work/logs/apt-source.log" >&2; die "cannot download source package $p"; }
	fi
done

# --- 2. the dependency prefix ---------------------------------------------------

# >>> recipe: everything between these markers is part of the cache key.
dep_cflags="-O2 -ffunction-sections -fdata-sections"

build_zlib() {
	CFLAGS="$dep_cflags" ./configure --static --prefix="$stage"
	make -j"$(nproc)" libz.a
	make install
}

build_libzstd() {
	local opts=(ZSTD_LEGACY_SUPPORT=0 ZSTD_LIB_DICTBUILDER=0 ZSTD_LIB_DEPRECATED=0 PREFIX="$stage")
	CFLAGS="-O3 -ffunction-sections -fdata-sections" make -C lib -j"$(nproc)" libzstd.a "${opts[@]}"
	CFLAGS="-O3 -ffunction-sections -fdata-sections" make -C lib install-static install-includes install-pc "${opts[@]}"
}

build_libisal() {
	# x86_64: configure fails without nasm (or yasm); the library is then built
	# from the assembly kernels with the multibinary (CPUID) dispatch, which the
	# check below makes sure of, not from the C base functions alone.
	./autogen.sh
	CFLAGS="$dep_cflags" ./configure --prefix="$stage" --disable-shared --enable-static \
		--disable-dependency-tracking
	make -j"$(nproc)" libisal.la
	# isal_inflate's decoder: the CPUID dispatcher and the AVX2 kernel it picks.
	local syms
	syms=$(nm -A .libs/libisal.a)
	grep -q 'igzip_inflate_multibinary\.o:.* T decode_huffman_code_block_stateless$' <<<"$syms" &&
		grep -q ' T decode_huffman_code_block_stateless_04$' <<<"$syms" ||
		{ echo "libisal.a lacks the multibinary assembly inflate"; exit 1; }
	make install-libLTLIBRARIES install-pkgincludeHEADERS install-nobase_includeHEADERS \
		install-pkgconfigDATA
}

build_openssl() {
	# OpenSSL embeds its prefix (engines/modules dirs) in libcrypto: configure
	# a neutral one and install with DESTDIR. Configuration: /etc/ssl. It has no
	# dependencies, and would record CPPFLAGS in OpenSSL_version(OPENSSL_CFLAGS).
	unset CPPFLAGS LDFLAGS
	./Configure linux-x86_64 --prefix=/usr/local --libdir=lib --openssldir=/etc/ssl \
		no-shared no-module no-legacy no-dso no-engine no-tests no-comp no-zlib \
		no-ssl3 no-dtls no-srtp no-sctp no-srp no-ct no-ocsp no-cms no-ts no-cmp \
		no-rfc3779 no-gost no-idea no-mdc2 no-rc5 no-md2 no-whirlpool no-seed \
		no-camellia no-aria no-sm2 no-sm3 no-sm4 no-bf no-cast no-secure-memory \
		-ffunction-sections -fdata-sections
	make -j"$(nproc)" build_libs
	make install_dev DESTDIR="$PWD/dest"
	cp -a dest/usr/local/. "$stage"/
	sed -i "s|^prefix=.*|prefix=$stage|" "$stage"/lib/pkgconfig/{libcrypto,libssl,openssl}.pc
}

build_nghttp2() {
	cmake -S . -B _build -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$dep_cflags" \
		-DCMAKE_INSTALL_PREFIX="$stage" -DCMAKE_INSTALL_LIBDIR=lib \
		-DENABLE_LIB_ONLY=ON -DENABLE_STATIC_LIB=ON -DENABLE_SHARED_LIB=OFF \
		-DENABLE_DOC=OFF -DENABLE_FAILMALLOC=OFF -DENABLE_PYTHON_BINDINGS=OFF \
		-DENABLE_HTTP3=OFF -DWITH_LIBXML2=OFF -DWITH_JEMALLOC=OFF
	cmake --build _build -j"$(nproc)"
	cmake --install _build
}

build_cjson() {
	cmake -S . -B _build -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$dep_cflags" \
		-DCMAKE_INSTALL_PREFIX="$stage" -DCMAKE_INSTALL_LIBDIR=lib \
		-DBUILD_SHARED_LIBS=OFF -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF \
		-DENABLE_TARGET_EXPORT=OFF
	cmake --build _build -j"$(nproc)"
	cmake --install _build
}

build_libyaml() {
	autoreconf -fi
	CFLAGS="$dep_cflags" ./configure --prefix="$stage" --disable-shared --enable-static \
		--disable-dependency-tracking
	make -C src -j"$(nproc)"
	make -C src install
	make -C include install
	make install-pkgconfigDATA
}

build_libarchive() {
	autoreconf -fi
	CFLAGS="$dep_cflags" ./configure --prefix="$stage" --disable-shared --enable-static \
		--disable-dependency-tracking --disable-rpath \
		--disable-bsdtar --disable-bsdcat --disable-bsdcpio --disable-acl \
		--disable-posix-regex-lib --with-zlib --with-zstd --without-iconv \
		--without-xml2 --without-expat --without-openssl --without-lzma \
		--without-bz2lib --without-lz4 --without-lzo2 --without-libb2 \
		--without-cng --without-mbedtls --without-nettle
	make -j"$(nproc)" libarchive.la
	make install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA
}

build_curl() {
	# Like debian/rules for the OpenSSL flavour (libcurl4): without the last two
	# patches, which rename the library to libcurl-gnutls and libcurl-nss.
	local p
	for p in 99_nss.patch 90_gnutls.patch; do
		grep -qx "$p" debian/patches/series || { echo "no $p in debian/patches/series"; exit 1; }
		patch -R -p1 -s <"debian/patches/$p"
	done
	autoreconf -fi
	CFLAGS="$dep_cflags" ./configure --prefix="$stage" --disable-shared --enable-static \
		--disable-dependency-tracking \
		--with-openssl="$stage" --with-nghttp2="$stage" \
		--with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path \
		--enable-threaded-resolver --enable-http --enable-proxy --enable-ipv6 \
		--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp \
		--disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap \
		--disable-smb --disable-smtp --disable-gopher --disable-mqtt \
		--disable-manual --disable-libcurl-option --disable-ntlm --disable-ntlm-wb \
		--disable-crypto-auth --disable-tls-srp --enable-unix-sockets \
		--disable-cookies --disable-alt-svc --disable-hsts --disable-doh \
		--disable-mime --disable-netrc --disable-dnsshuffle --disable-websockets \
		--disable-get-easy-options --disable-progress-meter \
		--without-zlib --without-brotli --without-zstd --without-libpsl \
		--without-libidn2 --without-librtmp --without-libssh2 --without-libssh \
		--without-wolfssh --without-libgsasl --without-hyper --without-ngtcp2 \
		--without-nghttp3 --without-quiche --without-msh3
	make -C lib -j"$(nproc)"
	make -C lib install
	make -C include install
	make install-pkgconfigDATA
}
# <<< recipe

musl_info="musl-dev $(dpkg-query -W -f='${Version}' musl-dev); $(musl-gcc --version | head -n 1)"
key_input() {
	local p
	for p in "${pkgs[@]}"; do echo "$p ${ver[$p]}"; done
	echo "$musl_info"
	sed -n '/^# >>> recipe/,/^# <<< recipe/p' "$script"
}
key=$(key_input | sha256sum | cut -c1-16)
if [ "$print_key" = 1 ]; then
	echo "$key"
	exit 0
fi
prefix=$cache_root/$key

for p in "${pkgs[@]}"; do say "$p ${ver[$p]}"; done
say "$musl_info"

# Runs "$@" in a subshell with errexit, output into logs/$name.log; on failure
# shows the log's tail and stops.
step() {
	local name=$1 log="$work/logs/$1.log" rc t
	shift
	t=$(date +%s)
	set +e
	(set -e; "$@") >"$log" 2>&1
	rc=$?
	set -e
	if [ "$rc" -ne 0 ]; then
		echo "static.sh: $name failed (exit $rc); last lines of $log:" >&2
		tail -n 40 "$log" >&2
		keep_work=1
		exit 1
	fi
	say "  $name: $(elapsed "$t")"
}

# Unpacks source package $1 into $work/src and builds it with build_$1.
build_pkg() {
	local p=$1 v=${ver[$1]}
	local dsc="$cache_root/sources/${p}_${v#*:}.dsc"
	rm -rf "$work/src/$p"
	mkdir -p "$work/src"
	dpkg-source -x "$dsc" "$work/src/$p"
	cd "$work/src/$p"
	export CC=musl-gcc CPPFLAGS="-I$stage/include" LDFLAGS="-L$stage/lib"
	export PKG_CONFIG_LIBDIR="$stage/lib/pkgconfig" PKG_CONFIG_PATH="" PKG_CONFIG_SYSROOT_DIR=""
	"build_$p"
}

if [ -d "$prefix" ]; then
	say "dependencies: cached in $prefix"
else
	say "dependencies: building into $prefix"
	t_deps=$(date +%s)
	stage=$prefix.tmp
	rm -rf "$stage"
	mkdir -p "$stage"
	for p in "${pkgs[@]}"; do
		step "$p" build_pkg "$p"
	done
	# Relocate to the final name, keep only headers, static libraries and .pc files.
	rm -rf "${stage:?}/bin" "$stage/share" "$stage/lib/cmake" "$stage"/lib/*.la
	sed -i "s|$stage|$prefix|g" "$stage"/lib/pkgconfig/*.pc
	if grep -rlF "$stage" "$stage" >/dev/null; then
		die "the prefix still mentions $stage: $(grep -rlF "$stage" "$stage" | head -n 5 | tr '\n' ' ')"
	fi
	key_input >"$stage/imgpull-static.key"
	mv -T "$stage" "$prefix"
	say "dependencies: built in $(elapsed "$t_deps")"
fi
flock -u 9

# --- 3. imgpull -------------------------------------------------------------------

t_imgpull=$(date +%s)
bdir=${IMGPULL_STATIC_BUILD:-$repo/build-static}
# A build tree configured against another prefix (or compiler) starts over.
if [ -e "$bdir/CMakeCache.txt" ] && [ "$(cat "$bdir/.imgpull-static-prefix" 2>/dev/null)" != "$prefix" ]; then
	rm -rf "$bdir"
fi
export PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" PKG_CONFIG_PATH="" PKG_CONFIG_SYSROOT_DIR=""
# The clone's path never enters the binary (OpenSSL's allocation macros carry
# __FILE__): one commit gives one binary wherever it is checked out (the
# Containerfile builds in /src).
step "imgpull-configure" cmake -S "$repo" -B "$bdir" -DCMAKE_C_COMPILER=musl-gcc \
	-DCMAKE_C_FLAGS="-ffile-prefix-map=$repo/=" -DIMGPULL_STATIC=ON -DIMGPULL_TESTS=OFF
echo "$prefix" >"$bdir/.imgpull-static-prefix"
step "imgpull-build" cmake --build "$bdir" -j"$(nproc)"
bin=$bdir/imgpull
strip "$bin"
say "imgpull: built in $(elapsed "$t_imgpull")"

# --- checks ---------------------------------------------------------------------

fail=0
out=$(file "$bin")
echo "$out"
[[ $out == *"statically linked"* ]] || { say "FAIL: file does not say 'statically linked'"; fail=1; }
if out=$(ldd "$bin" 2>&1); then
	echo "$out"
	say "FAIL: ldd succeeded"
	fail=1
else
	echo "ldd: ${out#"${out%%[![:space:]]*}"}"
	[[ $out == *"not a dynamic executable"* ]] || { say "FAIL: ldd does not say 'not a dynamic executable'"; fail=1; }
fi
if out=$("$bin" version 2>&1); then
	echo "$out"
	[[ $out == *libcurl* && $out == *OpenSSL* ]] || { say "FAIL: 'imgpull version' does not name libcurl and OpenSSL"; fail=1; }
	[[ $out == *"gzip: isa-l"* ]] || { say "FAIL: 'imgpull version' does not say 'gzip: isa-l'"; fail=1; }
else
	echo "$out"
	say "FAIL: 'imgpull version' failed"
	fail=1
fi
echo "size: $(stat -c %s "$bin") bytes ($bin, stripped)"
[ "$fail" = 0 ] || die "checks failed"
say "done in $(elapsed "$t_start") (cache key $key)"
