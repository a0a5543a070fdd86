#!/bin/sh
# Whole-process figures for `mgdeploy check` beside `mgdeploy parse` and,
# when NGINX_LINT names its binary, the nginx-lint CLI, on the files
# gen_nginx.py writes: the median wall time of 5 runs and the peak RSS.
#
# check runs as on a fleet host: MediaGoblin's checkout beside one big
# nginx file, MediaGoblin's FastCGI address named with --fcgi-address (the
# generated file has a thousand candidates).
#
# nginx-lint builds with cargo from its repository
# (https://github.com/walf443/nginx-lint): `cargo build --release`, then
# NGINX_LINT=.../target/release/nginx-lint benches/check.sh
#
# usage: benches/check.sh [SERVERS...]   (default: 200 2000 20000)
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
mgdeploy=$PWD/target/release/mgdeploy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"
cp examples/mediagoblin/paste.ini examples/mediagoblin/mediagoblin.ini "$work/root/"
cp src/nginx/stock/debian/fastcgi_params "$work/"

# The median of 5 runs of "$@" (stdout discarded), and the largest peak RSS.
measure() {
    python3 - "$@" <<'PY'
import resource, statistics, subprocess, sys, time
times, rss = [], 0
for _ in range(5):
    start = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times.append(time.perf_counter() - start)
    rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(f"{statistics.median(times):8.3f} s  {rss / 1024:8.1f} MB peak")
PY
}

for n in ${*:-200 2000 20000}; do
    file="$work/bench-$n.conf"
    python3 ../shared/bench/gen_nginx.py "$n" > "$file"
    size=$(stat -c %s "$file")
    echo "== gen_nginx.py $n: $(echo "$size" | awk '{printf "%.1f MB", $1 / 1e6}')"
    printf '  %-12s' "parse"
    measure "$mgdeploy" parse --single-file "$file"
    printf '  %-12s' "check"
    measure "$mgdeploy" check -C "$work/root" --nginx "$file" \
        --fcgi-address 127.0.0.1:26000 --format json
    if [ -n "${NGINX_LINT:-}" ]; then
        printf '  %-12s' "nginx-lint"
        measure "$NGINX_LINT" -o json "$file"
    fi
done
