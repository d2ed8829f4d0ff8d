"""`make demo`: runs the main example, the seed tutorial on async workflows."""

import trio
from async_workflows import main

if __name__ == "__main__":
    trio.run(main)
