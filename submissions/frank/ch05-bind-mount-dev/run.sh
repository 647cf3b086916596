#!/bin/sh
# Dev server: mount my project folder into nginx (course 5.3)
set -e
docker run -d --name dev-site -p 8080:80 -v "$(pwd)":/usr/share/nginx/html nginx
