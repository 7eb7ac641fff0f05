"""The locustfile a Locust master needs to drive `loadgen worker`s.

It declares the user class (the master dispatches users per class; the
users themselves run in Rust inside loadgen) and hands out student IDs. A
Python worker started on this file would do nothing useful: start
`loadgen worker` processes instead.

Student IDs. Only the master knows how many users it gives each worker at
every step, so it says which students they are: on every dispatch, before
the `spawn`, each worker gets a `loadgen_ids` message with the exact ID
numbers of its users, per class, in the order they start (1 is the
worker's --first-id, test_00001 by default):

- a fresh swarm of N users gives each worker one contiguous block of
  1..N, in the dispatcher's worker order (20 users over 2 workers:
  1..10 and 11..20, whatever the join order or spawn rate);
- a worker given fewer users stops its newest ones; their IDs are not
  handed out again in this run (their students logged out);
- a worker given more users takes, in this order, the unstarted rest of its
  block, the unstarted blocks of workers that left, then IDs never used in
  this run above the population: N+1, N+2, ... So users moved off a dead
  worker (--enable-rebalancing) or to a late one take at most one ID each
  above N: that is the margin `loadgen setup` must enrol.
- a new swarm after a stop is a new run and starts again at 1.

Message data: {"version": 1, "run": R, "population": N,
"ids": {class: [[first, last], ...]}} (inclusive ranges, in start order).
"""
import logging
from collections import deque

from locust import User, constant, events, task
from locust.dispatch import UsersDispatcher
from locust.runners import MasterRunner

MESSAGE = "loadgen_ids"
log = logging.getLogger("loadgen_ids")


class StudentUser(User):
    wait_time = constant(30)

    @task
    def upload_segment(self):
        """Runs in loadgen: the scenario (login, heartbeats, screenshots, recordings, logout)."""


def ranges(numbers):
    """[1, 2, 3, 7] -> [[1, 3], [7, 7]], keeping the order."""
    out = []
    for n in numbers:
        if out and out[-1][1] + 1 == n:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


class IdBook:
    """One run's IDs: what each worker holds, what is left to give."""

    def __init__(self):
        self.runner = None
        self.run = -1  # the first test_start makes it 1
        self.new_run()

    def new_run(self):
        self.run += 1
        self.population = 0
        self.fresh = True  # no dispatch yet in this run
        self.held = {}  # worker id -> {class: [numbers, in start order]}
        self.blocks = {}  # worker id -> {class: [numbers not started yet]}
        self.spare = deque()  # unstarted block numbers of workers that left
        self.next_new = 1  # the lowest number neither in a block nor handed out
        self.above = 0

    def plan(self, dispatcher, target):
        """At a run's first dispatch: one contiguous block of 1..target per
        worker, from the distribution the dispatcher will reach."""
        self.population = max(self.population, target)
        if not self.fresh:
            return
        self.fresh = False
        keep = getattr(dispatcher, "_try_dispatch_fixed", None)
        try:
            # Locust 2.47's own "as if from 0 users" distribution (private API).
            final, _, _, _ = dispatcher._distribute_users(target)
        except Exception as e:  # another Locust: IDs in dispatch order, still inside 1..target
            log.warning("loadgen_ids: cannot foresee the distribution (%r): no block per worker", e)
            return
        finally:
            if keep is not None:
                dispatcher._try_dispatch_fixed = keep
        n = 1
        for worker, counts in final.items():
            self.blocks[worker] = {}
            for cls in sorted(counts):
                self.blocks[worker][cls] = deque(range(n, n + counts[cls]))
                n += counts[cls]
        self.next_new = n
        log.info("loadgen_ids: run %d, %d users: blocks %s", self.run, target,
                 {w: {c: ranges(b) for c, b in bs.items()} for w, bs in self.blocks.items()})

    def forget(self, worker):
        """The worker left (or joined again): what it held is used, its
        unstarted block goes to the others."""
        self.held.pop(worker, None)
        left = [n for numbers in self.blocks.pop(worker, {}).values() for n in numbers]
        if left:
            self.spare = deque(sorted([*self.spare, *left]))

    def take(self, worker, cls):
        own = self.blocks.get(worker, {}).get(cls)
        if own:
            return own.popleft()
        if self.spare:
            return self.spare.popleft()
        n = self.next_new
        self.next_new += 1
        if n > self.population:
            self.above += 1
        return n

    def dispatch(self, users_on_workers):
        """Brings the book to this dispatch and tells each worker its IDs."""
        for worker in [w for w in self.held if w not in users_on_workers]:
            self.forget(worker)
        for worker in [w for w in self.blocks if w not in users_on_workers]:
            self.forget(worker)
        above = self.above
        for worker, counts in users_on_workers.items():
            held = self.held.setdefault(worker, {})
            for cls, want in counts.items():
                numbers = held.setdefault(cls, [])
                del numbers[want:]
                while len(numbers) < want:
                    numbers.append(self.take(worker, cls))
            data = {"version": 1, "run": self.run, "population": self.population,
                    "ids": {cls: ranges(numbers) for cls, numbers in held.items()}}
            self.runner.send_message(MESSAGE, data, worker)
        if self.above > above:
            log.info("loadgen_ids: %d users moved to IDs above the population %d (%d in this run so far)",
                     self.above - above, self.population, self.above)


BOOK = IdBook()


class IdDispatcher(UsersDispatcher):
    """Locust's dispatcher, telling each worker its users' IDs before every spawn."""

    def new_dispatch(self, target_user_count, spawn_rate, user_classes=None):
        super().new_dispatch(target_user_count, spawn_rate, user_classes)
        BOOK.plan(self, target_user_count)

    def __next__(self):
        users_on_workers = super().__next__()
        BOOK.dispatch(users_on_workers)
        return users_on_workers


@events.init.add_listener
def _on_init(environment, **_kw):
    if isinstance(environment.runner, MasterRunner):
        BOOK.runner = environment.runner
        environment.dispatcher_class = IdDispatcher


@events.test_start.add_listener
def _on_test_start(environment, **_kw):
    if isinstance(environment.runner, MasterRunner):
        BOOK.new_run()


@events.worker_connect.add_listener
def _on_worker_connect(client_id, **_kw):
    BOOK.forget(client_id)
