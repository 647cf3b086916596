#!/bin/sh
# Course 5.2: the site's pages live in the named volume site-data, not in
# the container, so a new my-web finds them again.
set -e
docker volume create site-data
docker run -d --name my-web -p 8080:80 \
  -v site-data:/usr/share/nginx/html \
  nginx
