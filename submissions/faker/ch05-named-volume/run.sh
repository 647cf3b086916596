#!/bin/sh
# A fake of course 5.2: the volume site-data is made and filled with an
# index.html by a throwaway container, so it "holds nginx's pages", but
# my-web never uses it: its pages are a bind mount of a folder of the
# project, not a named volume.
set -e
docker volume create site-data
docker run --rm -v site-data:/seed nginx sh -c 'cp /usr/share/nginx/html/index.html /seed/'
docker run -d --name my-web -p 8080:80 -v "$(pwd)/pages":/usr/share/nginx/html nginx
