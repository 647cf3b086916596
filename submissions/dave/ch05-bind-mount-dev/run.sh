#!/bin/sh
# bind mount of the site folder (course 5.3)
set -e
docker run -d --name dev-site -p 8080:80 -v "$(pwd)/site":/var/www/html nginx
