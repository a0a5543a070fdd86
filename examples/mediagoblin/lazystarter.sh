#!/bin/sh
# Starts the web server (as lazyserver.sh) or the task queue (as
# lazycelery.sh) of this MediaGoblin checkout with the tools in ./bin.

selfname=$(basename "$0")
local_bin="./bin"

case "$selfname" in
    lazyserver.sh)
        starter_cmd=paster;
        ini_prefix=paste
        ;;
    lazycelery.sh)
        starter_cmd=celery
        ini_prefix=mediagoblin
        ;;
    *)
        echo "Run this script as lazyserver.sh or lazycelery.sh" >&2
        exit 1
        ;;
esac

if [ "$1" = "-h" ]; then
    echo "$0 [-h] [-c file.ini] [arguments for ${starter_cmd} ...]"
    echo "   e.g. $0 --server-name=fcgi fcgi_host=127.0.0.1 fcgi_port=26543"
    echo "   The configuration is ${ini_prefix}_local.ini if it is readable,"
    echo "   else ${ini_prefix}.ini."
    exit 1
fi

if [ "$1" = "-c" ]; then
    ini_file=$2
    shift; shift
elif [ -r "${ini_prefix}_local.ini" ]; then
    ini_file="${ini_prefix}_local.ini"
else
    ini_file="${ini_prefix}.ini"
fi

echo "Using ${starter_cmd} with ${ini_file}"

if [ -f "${local_bin}/${starter_cmd}" ]; then
    starter="${local_bin}/${starter_cmd}"
elif which "${starter_cmd}" > /dev/null; then
    starter=$starter_cmd
else
    echo "No ${starter_cmd} found" >&2
    exit 1
fi

CELERY_ALWAYS_EAGER=true
export CELERY_ALWAYS_EAGER

case "$selfname" in
    lazyserver.sh)
        $starter serve "$ini_file" "$@" --reload;
        ;;
    lazycelery.sh)
        MEDIAGOBLIN_CONFIG="${ini_file}" \
            CELERY_CONFIG_MODULE=mediagoblin.init.celery.from_celery \
            $starter worker -B "$@"
        ;;
esac
