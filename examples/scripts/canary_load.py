#!/usr/bin/env python3
"""A bounded load generator: GET URL as many distinct users (a `uid` cookie),
RATE requests a second, for at most SECONDS or until STOP_FILE exists.

  canary_load.py URL RATE SECONDS STOP_FILE [USERS]

Each second it prints how many answers each version (X-Version) gave.
"""
import http.client
import os
import random
import sys
import time
import urllib.parse


def main():
    url, rate, seconds, stop_file = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    users = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + seconds
    second, counts = int(time.monotonic()), {}
    while time.monotonic() < deadline and not os.path.exists(stop_file):
        uid = f"user-{random.randrange(users)}"
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", parts.path or "/", headers={"Cookie": f"uid={uid}"})
            response = conn.getresponse()
            response.read()
            key = f"{response.getheader('X-Version', '?')} {response.status}"
            conn.close()
        except OSError as error:
            key = f"error {type(error).__name__}"
        counts[key] = counts.get(key, 0) + 1
        now = int(time.monotonic())
        if now != second:
            print(" ".join(f"{k}:{v}" for k, v in sorted(counts.items())), flush=True)
            second, counts = now, {}
        time.sleep(1.0 / rate)


if __name__ == "__main__":
    main()
