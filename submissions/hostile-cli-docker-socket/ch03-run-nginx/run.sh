#!/bin/sh
# Hands the container the Docker engine's socket, which controls the host
# (start a privileged container, mount anything). grade's guard refuses the
# docker run, so no container starts.
set -e
docker run -d -p 8080:80 --name my-web-server \
  -v /var/run/docker.sock:/var/run/docker.sock nginx
