#!/bin/sh
# custom network for my app (course 6.3)
set -e
docker network create my-app-net
docker run -d --name my-db redis:alpine
docker run -d --name my-app --network my-app-net busybox sh -c '
  while true; do
    if printf "PING\r\n" | nc -w 2 my-db 6379 | grep -q PONG; then
      echo "db reachable: PONG"
    else
      echo "db unreachable"
    fi
    sleep 2
  done'
