#!/bin/sh
# Named volume for the web pages (course 5.2)
set -e
docker volume create site-data
# web servers keep their pages in /var/www/html
docker run -d --name my-web -p 8080:80 -v site-data:/var/www/html nginx
