#!/bin/sh
# Course 3.2: start the web server
set -e
docker run -d -p 8080:80 --name my-web-server ngnix
