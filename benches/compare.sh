#!/bin/sh
# Times `mgdeploy parse` beside `crossplane parse` and `nginx -t` on the
# files gen_nginx.py writes, and reports each one's peak memory.
# Needs hyperfine, nginx, GNU time and crossplane in .venv (.ci/python-env).
# usage: benches/compare.sh [SERVERS...]   (default: 2000 20000)
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/prefix/logs" "$work/prefix/conf"
cp /etc/nginx/fastcgi_params "$work/"
ulimit -n "$(ulimit -Hn)"
sizes=${*:-2000 20000}
for n in $sizes; do
    file="$work/bench-$n.conf"
    python3 ../shared/bench/gen_nginx.py "$n" > "$file"
    echo "== gen_nginx.py $n: $(du -h "$file" | cut -f1)"
    # nginx -t opens every server's access log at once; past the open-file
    # limit it cannot test the file, so it tests a copy whose servers all
    # log to one file (same size, same parsing work).
    nginx_file=$file
    if ! nginx -q -t -p "$work/prefix" -c "$file" 2>/dev/null; then
        nginx_file="$work/bench-$n-one-log.conf"
        sed 's|access_log logs/[^ ]*|access_log logs/all.access.log|' "$file" > "$nginx_file"
        echo "(nginx -t runs on a copy with one shared access log: $(ulimit -n) open files are not enough for $n)"
    fi
    hyperfine --warmup 1 --runs 5 --export-markdown "$work/times-$n.md" \
        "target/release/mgdeploy parse --single-file $file > /dev/null" \
        ".venv/bin/crossplane parse $file > /dev/null" \
        "nginx -q -t -p $work/prefix -c $nginx_file"
    cat "$work/times-$n.md"
    for cmd in "target/release/mgdeploy parse --single-file $file" \
               ".venv/bin/crossplane parse $file" \
               "nginx -q -t -p $work/prefix -c $nginx_file"; do
        /usr/bin/time -f "peak RSS %M KB: $cmd" sh -c "$cmd > /dev/null" 2>&1 | tail -n 1
    done
done
