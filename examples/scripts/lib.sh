# Shared by the example's scripts: where the simulated hosts live.
# Every host is a directory: $ROOT/hosts/<host>/{releases/<version>/,current}.
ROOT=${DEPLOY_EXAMPLE_ROOT:-.deploy/example}
host_dir() { echo "$ROOT/hosts/$1"; }
