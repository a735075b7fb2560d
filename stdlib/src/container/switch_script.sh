# write_switch: STATE/NAME/switch, the switch for `strategy blue_green { switch { ... } }`
# (container.app with switch = false): this app's settings, common.sh and switch_body.sh.
quoted() { printf "'"; printf %s "$1" | sed "s/'/'\\\\''/g"; printf "'"; }
write_switch() {
  {
    printf '#!/bin/sh\n# Written by std/container.app: `switch VERSION` makes NAME-VERSION the live container.\nset -eu\n'
    for var in rt name state health health_timeout drain stop_timeout proxy upstream_file upstream nginx haproxy_admin haproxy_server; do
      eval "value=\$$var"
      printf '%s=%s\n' "$var" "$(quoted "$value")"
    done
    printf 'sd="$state/$name"\n'
    cat <<'DEPLOY_SWITCH'
#@include common.sh
#@include switch_body.sh
DEPLOY_SWITCH
  } > "$sd/switch.tmp"
  chmod 755 "$sd/switch.tmp"
  mv -f "$sd/switch.tmp" "$sd/switch"
}
