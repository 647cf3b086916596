#!/bin/sh
# Course 5.3: bind-mount my site folder into nginx, so every edit I make
# shows up at http://localhost:8080 without rebuilding anything.
set -e
docker run -d --name dev-site -p 8080:80 \
  -v "$(pwd)/site":/usr/share/nginx/html \
  nginx
