"""The Locust side of scripts/bench-loadgen.sh: the same login as `loadgen hammer`
(no wait between requests), with FastHttpUser, Locust's fastest client."""
import itertools

from locust import FastHttpUser, constant, task

IDS = itertools.cycle(f"test_{n:05d}" for n in range(1, 1001))


class Hammer(FastHttpUser):
    wait_time = constant(0)

    @task
    def login(self):
        sid = next(IDS)
        self.client.post("/api/login", json={"student_id": sid, "student_name": f"Student {sid[5:]}"})
