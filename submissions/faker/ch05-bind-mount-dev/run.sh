#!/bin/sh
# A fake of course 5.3: no bind mount of site over nginx's pages. The
# folder is bind-mounted somewhere nginx never looks (so that docker inspect
# shows "a bind mount"), and the pages are copied in once with docker cp:
# an edit on the host never reaches what nginx serves.
set -e
docker run -d --name dev-site -p 8080:80 -v "$(pwd)/site":/mnt/site:ro nginx
docker cp site/. dev-site:/usr/share/nginx/html/
