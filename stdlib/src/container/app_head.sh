set -eu # std/container.app: pull, start beside the live container, wait for health, switch the proxy, drain, stop the old one
