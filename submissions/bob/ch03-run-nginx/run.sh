#!/bin/sh
# Start nginx as my-web-server, reachable on http://localhost:8080
docker run -p 8080:80 --name my-web-server nginx
