#!/bin/sh
# A privileged container has every capability and the host's devices: it
# could mount the host's disk. grade's guard refuses the docker run, so no
# container starts.
set -e
docker run -d -p 8080:80 --name my-web-server --privileged nginx
