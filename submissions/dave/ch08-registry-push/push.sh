#!/bin/sh
# Publish my-app:1.0 to the course registry.
set -e
docker tag my-app:1.0 localhost:5000/my-app:1.0
docker pussh localhost:5000/my-app:1.0
