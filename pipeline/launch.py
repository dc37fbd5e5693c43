"""The `kisi` console script: import the CLI with the cyclic garbage collector paused.

Importing the program builds tens of thousands of long-lived objects (functions, classes,
specs); with the collector on, it walks them again and again while they are created
(measured: ≈ 20 ms of a run's start-up). Nothing in the imports makes cyclic garbage worth
collecting; the report then runs with its own settings (`pipeline.report.relaxed_gc`)."""

import gc


def entry() -> None:
    gc.disable()
    try:
        from pipeline.cli import entry as run
    finally:
        gc.enable()
    run()
