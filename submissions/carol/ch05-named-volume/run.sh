#!/bin/sh
# Course 5.2: keep the pages outside the container.
set -e
docker volume create site-data
# I mount my own folder instead, so I can see the files on my computer
docker run -d --name my-web -p 8080:80 -v "$(pwd)/data":/usr/share/nginx/html nginx
