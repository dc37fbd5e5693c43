"""The `kisi` console script: import the CLI with the cyclic garbage collector paused.

Importing the program builds tens of thousands of long-lived objects (functions, classes,
specs); with the collector on, it walks them again and again while they are created
(measured: ≈ 20 ms of a run's start-up). Nothing in the imports makes cyclic garbage worth
collecting; the report then runs with its own settings (`pipeline.report.relaxed_gc`).
The dataclasses' methods are not compiled again on every start (`pipeline.startup`).
First of all, a running `kisi server` is asked to take the command (`pipeline.resident`)."""

import gc
import os
import sys


def entry() -> None:
    from pipeline.resident.client import delegate

    code = delegate(sys.argv[1:])  # a running `kisi server` takes the command
    if code is not None:
        os._exit(code)
    gc.disable()
    try:
        import pipeline.startup as startup

        startup.keep_dataclass_code(os.path.dirname(startup.__file__))
        from pipeline.cli import entry as run

        startup.save()
    finally:
        gc.enable()
    run()
