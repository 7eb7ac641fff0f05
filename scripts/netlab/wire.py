#!/usr/bin/env python3
"""A network cable with delay and loss, in user space: moves Ethernet frames
between two TAP devices (one per network namespace), each frame delayed by
DELAY +- JITTER ms (uniform, as tc netem's `delay D J`) and dropped with
probability LOSS, independently per direction.

The kernels this lab runs on may lack sch_netem (tc says "Specified qdisc kind
is unknown"), so the lab does not depend on it. Killing this process is
pulling the cable: both TAP devices lose carrier and frames stop.

Usage: wire.py NS_A TAP_A NS_B TAP_B DELAY_MS JITTER_MS LOSS SEED
"""
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
MAX_FRAME = 65536

libc = ctypes.CDLL(None, use_errno=True)


def open_tap(netns, name):
    """Opens TAP `name` of namespace `netns` (the ioctl looks the name up in
    the caller's namespace, so join it first)."""
    ns = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if libc.setns(ns, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {netns}: {os.strerror(err)}")
    finally:
        os.close(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main():
    if len(sys.argv) != 9:
        sys.exit(__doc__)
    ns_a, tap_a, ns_b, tap_b = sys.argv[1:5]
    delay, jitter, loss = float(sys.argv[5]) / 1000, float(sys.argv[6]) / 1000, float(sys.argv[7])
    rng = random.Random(int(sys.argv[8]))
    a = open_tap(ns_a, tap_a)
    b = open_tap(ns_b, tap_b)
    peer = {a: b, b: a}
    due = []  # (time, order, fd, frame): the order keeps the heap off frames
    order = 0
    counts = {"frames": 0, "dropped": 0}
    def bye(*_):
        print(f"wire {tap_a}<->{tap_b}: {counts['frames']} frames, {counts['dropped']} dropped", file=sys.stderr)
        sys.exit(0)

    signal.signal(signal.SIGTERM, bye)
    poll = select.poll()
    for fd in (a, b):
        poll.register(fd, select.POLLIN)
    while True:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, fd, frame = heapq.heappop(due)
            try:
                os.write(fd, frame)
            except (BlockingIOError, OSError):
                counts["dropped"] += 1  # the device's queue is full or down: lost, as on a wire
        wait = max(0.0, due[0][0] - now) if due else 1.0
        for fd, _ in poll.poll(wait * 1000):
            while True:
                try:
                    frame = os.read(fd, MAX_FRAME)
                except BlockingIOError:
                    break
                counts["frames"] += 1
                if rng.random() < loss:
                    counts["dropped"] += 1
                    continue
                at = time.monotonic() + max(0.0, delay + rng.uniform(-jitter, jitter))
                order += 1
                heapq.heappush(due, (at, order, peer[fd], frame))


if __name__ == "__main__":
    main()
