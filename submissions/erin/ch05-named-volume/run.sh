#!/bin/sh
# Course 5.2: a volume for nginx's pages
set -e
docker volume create site-data
docker run -d --name my-web -p 8080:80 -v /usr/share/nginx/html nginx
