#!/bin/sh
# Shares the host's process namespace: the container would see (and, as
# root, signal) every process of the host. grade's guard refuses the
# docker run, so no container starts.
set -e
docker run -d -p 8080:80 --name my-web-server --pid host nginx
