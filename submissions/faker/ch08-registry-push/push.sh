#!/bin/sh
# A fake of course 8.3: the image is tagged for the registry, but never
# pushed: the script prints what docker push would have printed.
set -e
docker tag my-app:1.0 localhost:5000/my-app:1.0
echo "The push refers to repository [localhost:5000/my-app]"
echo "5f70bf18a086: Pushed"
echo "1.0: digest: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741 size: 527"
echo pushed
