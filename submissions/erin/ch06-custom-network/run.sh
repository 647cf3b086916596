#!/bin/sh
# Course 6.3: Redis and an app on my-app-net
set -e
docker network create my-app-net
docker run -d --name my-db --network my-app-net redis:alpine
# Redis listens on port 6379
docker run -d --name my-app --network my-app-net busybox sh -c '
  while true; do
    if printf "PING\r\n" | nc -w 2 localhost 6379 | grep -q PONG; then
      echo "db reachable: PONG"
    else
      echo "db unreachable"
    fi
    sleep 2
  done'
