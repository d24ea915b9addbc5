"""The cyclic garbage collector held off while the server starts, then start-up's objects frozen
(issue 16: start-up).

Start-up makes ~70,000-115,000 tracked objects (modules, classes, functions, SQLAlchemy's and
Flask's structures) that live as long as the process. With the collector on, the allocation
bursts of the imports trigger ~160 collections that scan them over and over: measured
55-75 ms of CPU before the first 200 (of ~370 ms), and afterwards every full collection
rescans them all (43-93 ms here, a pause for every thread, since it holds the GIL).

`pause()`, called first by the commands that run the server (`nexus.cli.main`, which also
resumes however the command ends), turns the collector off; `resume()`, once the services
have started (`Host.start_services`; `Host.stop` too, for a start that ends early), moves everything alive into the permanent
generation (`gc.freeze()`) and turns it back on: what start-up made is never scanned again
(a full collection then costs ~0.1 ms), and what is made later is collected as usual. The
price: the ~600 objects (~115 KB) that imports left in unreachable cycles stay allocated;
collecting them first would cost one full scan, ~60 ms.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Idempotent; does nothing unless `pause()` turned the collector off (a test that opens a
    Host itself keeps its own collector as it is)."""
    global _paused
    if not _paused:
        return
    _paused = False
    gc.freeze()
    gc.enable()
