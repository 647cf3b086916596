#!/bin/sh
# Course 5.3: dev server with a bind mount of my site folder
set -e
docker run -d --name dev-site -p 8080:80 \
  -v /home/carol/docker-course/site:/usr/share/nginx/html \
  nginx
