#!/bin/sh
# Course 6: database and app, talking by name
set -e
docker run -d --name my-db redis:alpine
docker run -d --name my-app busybox sh -c '
  while true; do
    if printf "PING\r\n" | nc -w 2 my-db 6379 | grep -q PONG; then
      echo "db reachable: PONG"
    else
      echo "db unreachable"
    fi
    sleep 2
  done'
