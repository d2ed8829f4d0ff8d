"""A counter actor: tell, ask, proxy calls, a crash and a timer.

Expected output::

    count after three tells: 6
    proxy says: 6
    asking a crashed actor: ActorDiedError caused by ValueError
    ticks after 0.35 s: 3
"""

import trio

from arborist.actors import Actor, ActorDiedError, open_actor_system


class Counter(Actor):
    def __init__(self) -> None:
        self.count = 0
        self.ticks = 0

    def on_receive(self, message: object) -> int:
        match message:
            case int(n):
                self.count += n
            case "tick":
                self.ticks += 1
            case "boom":
                raise ValueError("boom")
        return self.count

    def total(self) -> int:
        return self.count


async def main() -> None:
    async with open_actor_system() as system:
        counter = await system.spawn(Counter)
        for n in (1, 2, 3):
            counter.tell(n)
        print("count after three tells:", await counter.ask(0))
        print("proxy says:", await counter.proxy().total())

        doomed = await system.spawn(Counter)
        try:
            await doomed.ask("boom")
        except ActorDiedError as error:
            cause = type(error.__cause__).__name__
            print(f"asking a crashed actor: ActorDiedError caused by {cause}")

        ticker = await system.spawn(Ticker)
        await trio.sleep(0.35)
        print("ticks after 0.35 s:", await ticker.ask("count"))


class Ticker(Actor):
    def __init__(self) -> None:
        self.ticks = 0

    def on_start(self) -> None:
        self.send_interval(0.1, "tick")

    def on_receive(self, message: object) -> int:
        if message == "tick":
            self.ticks += 1
        return self.ticks


if __name__ == "__main__":
    trio.run(main)
