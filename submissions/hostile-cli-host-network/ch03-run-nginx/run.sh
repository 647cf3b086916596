#!/bin/sh
# Shares the host's network stack: the container would listen on the
# host's own port 80 and reach everything the host reaches. grade's guard
# refuses the docker run, so no container starts.
set -e
docker run -d -p 8080:80 --name my-web-server --network host nginx
