#!/usr/bin/env bash
# prepare.sh: make every base image listed in images/list present on the engine.
#
# For each image: nothing to do when the engine has it; otherwise pull it where a
# registry answers; otherwise build an offline stand-in from Debian packages with
# the recipe folder named in the list. A second run with everything present takes
# a second or two.
#
# Usage: images/prepare.sh [--no-pull] [IMAGE...]   (default: every image in the list)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pull=1
if [ "${1:-}" = "--no-pull" ]; then pull=0; shift; fi
want=("$@")

say() { printf 'images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed); start it first"

present() { docker image inspect "$1" >/dev/null 2>&1; }

wanted() {
	[ ${#want[@]} -eq 0 ] && return 0
	local w
	for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
	return 1
}

# rootfs makes the imported Debian root the debian recipe builds on.
rootfs() {
	present grade-rootfs:bookworm && return 0
	if ! command -v debootstrap >/dev/null 2>&1; then
		say "installing debootstrap (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
			die "debootstrap is missing and apt-get could not install it; install it and run again"
	fi
	local dir
	dir=$(mktemp -d /tmp/grade-rootfs.XXXXXX)
	say "debootstrap --variant=minbase bookworm (about 30 s)"
	debootstrap --variant=minbase bookworm "$dir" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$dir.log" 2>&1 ||
		{ tail -20 "$dir.log" >&2; rm -rf "$dir" "$dir.log"; die "debootstrap failed"; }
	rm -f "$dir.log"
	rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
		"$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/*
	# Like the official slim images: no documentation on later installs either.
	cat >"$dir/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CFG
	tar -C "$dir" -c . | docker import - grade-rootfs:bookworm >/dev/null
	rm -rf "$dir"
}

build() {
	local image=$1 recipe=$2
	local ctx=$here/$recipe
	if [ -x "$ctx/make.sh" ]; then # not a Dockerfile: a script that makes the image
		say "$image: making it with images/$recipe/make.sh"
		"$ctx/make.sh" "$image" || die "$image: images/$recipe/make.sh failed"
		return
	fi
	[ -f "$ctx/Dockerfile" ] || die "$image: no recipe at images/$recipe/Dockerfile"
	if [ "$recipe" = debian ]; then rootfs; fi
	say "$image: building offline stand-in from images/$recipe"
	local log
	log=$(mktemp)
	if ! DOCKER_BUILDKIT=0 docker build -q -t "$image" "$ctx" >"$log" 2>&1; then
		tail -30 "$log" >&2
		rm -f "$log"
		die "$image: building the stand-in failed"
	fi
	rm -f "$log"
}

missing=0
while read -r image recipe; do
	case "$image" in ''|'#'*) continue ;; esac
	wanted "$image" || continue
	if present "$image"; then
		continue
	fi
	missing=$((missing + 1))
	# An image a script makes (grade's own) is never pulled.
	if [ "$pull" = 1 ] && [ ! -x "$here/$recipe/make.sh" ] && timeout 60 docker pull -q "$image" >/dev/null 2>&1; then
		say "$image: pulled"
		continue
	fi
	build "$image" "$recipe"
done <"$here/list"

if [ "$missing" = 0 ]; then
	say "every base image is present"
else
	say "done: $missing image(s) made"
fi
