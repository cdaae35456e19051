"""Locust scenario of the seed article: simulated users posting digits to /predict with a
think time between requests. Run by bench/load.py (headless); also usable by hand:
  BENCH_BODIES=bodies.jsonl /usr/bin/python3 -m locust -f bench/locustfile.py --headless \\
      -u 200 -r 1 -t 240s --host http://127.0.0.1:8080
Environment: BENCH_BODIES (one JSON body per line), BENCH_THINK ("min,max" seconds, default
0.5,1.5: one second on average, like Locust's old default wait of 1 000 ms the seed ran with).
A response counts as a failure unless it is 200 with a prediction 0..9 and 10 probabilities.
"""

import itertools
import json
import os
import random

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

with open(os.environ["BENCH_BODIES"]) as _f:
    BODIES = [line.strip() for line in _f if line.strip()]
_THINK = [float(v) for v in os.environ.get("BENCH_THINK", "0.5,1.5").split(",")]
_start = itertools.count(random.randrange(len(BODIES)))


class DigitUser(FastHttpUser):
    wait_time = between(_THINK[0], _THINK[1])
    headers = {"Content-Type": "application/json"}

    def on_start(self):
        self.next = next(_start) * 7919 % len(BODIES)

    @task
    def predict(self):
        self.next = (self.next + 1) % len(BODIES)
        with self.client.post("/predict", data=BODIES[self.next], headers=self.headers,
                              catch_response=True, name="/predict") as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
                return
            try:
                doc = json.loads(r.content)
                ok = 0 <= doc["prediction"] <= 9 and len(doc["probabilities"]) == 10
            except (ValueError, KeyError, TypeError):
                ok = False
            if not ok:
                r.failure("malformed answer")
