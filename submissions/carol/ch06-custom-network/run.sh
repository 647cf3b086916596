#!/bin/sh
# Course 6.3: network, database, app
set -e
docker network create my-app-net
docker run -d --name my-db --network my-app-net redis:alpine
# my-db's address, from docker inspect my-db on my laptop
DB_IP=172.17.0.2
docker run -d --name my-app --network my-app-net busybox sh -c "
  while true; do
    if printf 'PING\r\n' | nc -w 2 $DB_IP 6379 | grep -q PONG; then
      echo 'db reachable: PONG'
    else
      echo 'db unreachable'
    fi
    sleep 2
  done"
