set -eu # std/container.accessory rollback: remove it if this run started it
rt=@{runtime}; name=@{name}
say() { echo "std/container: $*"; }
if [ "$($rt inspect -f '{{index .Config.Labels "deploy.run"}}' "$name" 2>/dev/null || true)" = "${DEPLOY_RUN_ID:-}" ] && [ -n "${DEPLOY_RUN_ID:-}" ]; then
  $rt rm -f "$name" >/dev/null; say "removed the accessory $name this run started (its volumes are kept)"
else
  say "the accessory $name was not started by this run: left alone"
fi
