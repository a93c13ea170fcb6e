#!/bin/sh
# Entry point of the evalset image: `serve` by default; evalset commands pass through, so
#   docker run --rm -v evalset-data:/data evalset keys create --project team --scope project:read_datasets
# works on the same data; anything else (sh, python) runs as given.
set -e
if [ "$#" -eq 0 ]; then
    set -- serve
fi
case "$1" in
    -*|serve|migrate|backup|projects|keys|push|pull|datasets) exec evalset "$@" ;;
    *) exec "$@" ;;
esac
