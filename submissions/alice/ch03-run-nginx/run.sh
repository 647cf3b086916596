#!/bin/sh
# Course 3.2: my first web server.
# -d runs it in the background, -p publishes port 8080 of my machine to
# port 80 in the container, --name gives it a name I can use later.
set -e
docker run -d -p 8080:80 --name my-web-server nginx
