"""Pool workers that end with the process that started them, so that a killed sweep leaves no orphans."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_INTERVAL_S = 1.0


def exit_with_parent(parent_pid: int) -> None:
    """Arrange for this process to die with `parent_pid`, its parent; call first thing in a worker.

    Linux delivers SIGKILL on the parent's death (prctl PR_SET_PDEATHSIG);
    elsewhere a daemon thread checks the parent id every second. A parent
    that died before either was set up is caught by the first check.
    """
    if sys.platform == "linux" and _set_death_signal(signal.SIGKILL):
        if os.getppid() != parent_pid:
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent_pid,), daemon=True, name="parent-watch").start()


def _set_death_signal(signum: int) -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)
