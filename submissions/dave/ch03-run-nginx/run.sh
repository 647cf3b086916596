#!/bin/sh
# run nginx in the background and open port 8080
set -e
docker run -d -p 8080:80 nginx
