"""The locustfile a Locust master needs to drive `loadgen worker`s.

It only declares the user class (the master dispatches users per class);
the users themselves run in Rust inside loadgen. A Python worker started on
this file would do nothing useful: start `loadgen worker` processes instead.
"""
from locust import User, constant, task


class StudentUser(User):
    wait_time = constant(30)

    @task
    def upload_segment(self):
        """Runs in loadgen: the scenario (login, heartbeats, screenshots, recordings, logout)."""
