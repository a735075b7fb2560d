set -eu # std/container.app rollback: start the previous container, switch back, remove this one
