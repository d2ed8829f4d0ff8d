"""`make demo`: runs the project's main example."""

import trio

from counter import main

if __name__ == "__main__":
    trio.run(main)
