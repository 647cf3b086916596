#!/bin/sh
# Serve my site with nginx: start it, then copy my pages in.
set -e
docker run -d --name dev-site -p 8080:80 nginx
docker cp site/. dev-site:/usr/share/nginx/html/
