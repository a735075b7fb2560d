rt=@{runtime}; name=@{name}; image=@{image}; tag=@{tag}; v=@{version}; network=@{network}; cport=@{port}; ports=@{ports}
health=@{health}; health_timeout=@{health_timeout}; drain=@{drain}; stop_timeout=@{stop_timeout}; keep=@{keep}
proxy=@{proxy}; upstream_file=@{upstream_file}; upstream=@{upstream}; nginx=@{nginx}; haproxy_admin=@{haproxy_admin}; haproxy_server=@{haproxy_server}
state=@{state}; sd="$state/$name"; new="$name-$v"; ref="$image:$tag"
case $v in ''|*[!A-Za-z0-9_.-]*|[!A-Za-z0-9]*) die "the version '$v' cannot name a container ($name-VERSION)" ;; esac
mkdir -p "$sd"
live=$(cat "$sd/live" 2>/dev/null || true)
