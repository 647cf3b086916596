#!/bin/sh
# Course 6.3: my own bridge network, with the database and the app on it.
set -e
docker network create my-app-net
docker run -d --name my-db --network my-app-net redis:alpine
# The "app": every 2 seconds it sends PING to Redis, found by its
# container name my-db (Docker's DNS on my-app-net resolves it).
docker run -d --name my-app --network my-app-net busybox sh -c '
  while true; do
    if printf "PING\r\n" | nc -w 2 my-db 6379 | grep -q PONG; then
      echo "db reachable: PONG"
    else
      echo "db unreachable"
    fi
    sleep 2
  done'
