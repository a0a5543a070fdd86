#!/bin/sh
# Builds the collection: mgdeploy as a static (musl) binary, installed as
# the migrate and check modules, then packed by ansible-galaxy.
#   rustup target add x86_64-unknown-linux-musl   (once)
#   ansible/build.sh   → target/ansible/mgdeploy-mediagoblin-0.1.0.tar.gz
set -eu
cd "$(dirname "$0")/.."
cargo build --release --locked --target x86_64-unknown-linux-musl
binary=target/x86_64-unknown-linux-musl/release/mgdeploy
for module in migrate check; do
    install -m 0755 -s "$binary" "ansible/plugins/modules/$module"
done
# ansible-galaxy from PATH, else the one .ci/python-env puts in .venv.
galaxy=$(command -v ansible-galaxy || echo .venv/bin/ansible-galaxy)
mkdir -p target/ansible
"$galaxy" collection build --force --output-path target/ansible ansible
