#!/bin/sh
# start the web server for the volume exercise
set -e
docker run -d --name my-web -p 8080:80 nginx
