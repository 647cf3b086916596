#!/bin/sh
# As the official image does: with no config file, listen on every address
# with protected mode off, so other containers can connect.
set -e
if [ "${1#-}" != "$1" ]; then
	set -- redis-server "$@"
fi
if [ "$1" = "redis-server" ]; then
	case "$2" in
	*.conf) ;;
	*) shift; set -- redis-server --protected-mode no --bind '* -::*' "$@" ;;
	esac
fi
exec "$@"
