set -eu # std/container.split: send WEIGHT% of the requests to the new container, sticky, through nginx or HAProxy
