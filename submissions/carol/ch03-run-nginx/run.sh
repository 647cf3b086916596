#!/bin/sh
# Course 3.2: nginx in the background on port 8080
set -e
docker run -d -p 80:8080 --name my-web-server nginx
