"""`python -m characterize.build_loops`: build the loops of the simulation path ahead of time (see `compiled`).

Without a C compiler, or with a numba that no longer has `numba.pycc`, it says so
in one line and leaves the just-in-time loops to serve; it never fails the caller.
"""

from __future__ import annotations

import sys
import time

from characterize import _integer_csv, compiled
from characterize.timing import _kernel


def main() -> int:
    loops = {**_kernel.AHEAD_OF_TIME, **_integer_csv.AHEAD_OF_TIME}
    start = time.perf_counter()
    try:
        path = compiled.build(loops, [_kernel.__file__, _integer_csv.__file__])
    except Exception as error:  # noqa: BLE001 - any failure of the optional build: numba's JIT loops serve instead
        print(f"compiled loops not built ({type(error).__name__}: {error}); numba compiles them on first use",
              file=sys.stderr)
        return 0
    print(f"built {len(loops)} loops ahead of time into {path.name} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
