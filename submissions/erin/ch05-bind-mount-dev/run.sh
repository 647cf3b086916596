#!/bin/sh
# Course 5.3: mount site into nginx
set -e
docker run -d --name dev-site -p 8080:80 -v site:/usr/share/nginx/html nginx
