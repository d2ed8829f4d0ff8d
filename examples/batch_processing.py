"""Map steps with batch sizes: the same 1,000 records at batch_size 10, 100 and 1,000 (seed 001).

``@wf.map(over="records", batch_size=N)`` runs one element step per record with at most N
materialised at once (running, or finished and waiting for an earlier one when ordered). The
records come from a generator, read lazily: a record is read only when a slot is free, so
memory stays bounded by the batch size, not by the length of the source. Each record takes
10 ms, so 1,000 records take 1,000 / N waves of 10 ms. ``reduce=`` folds the results as they
arrive, so the step's output is one summary instead of a list of 1,000.

With ``ordered=True`` (the default) results come in input order, so a slow record holds the
window: the records after it finish but keep their slots until it is done. ``ordered=False``
releases a slot as soon as its element finishes (results in completion order).

The times below are on trio's virtual clock (tests/test_examples.py runs it); ``python
examples/batch_processing.py`` on the real clock adds each wave's scheduling overhead.

Expected output::

    batch_size   10: 1000 records in 1.00 s, peak materialised 10, total 499500
    batch_size  100: 1000 records in 0.10 s, peak materialised 100, total 499500
    batch_size 1000: 1000 records in 0.01 s, peak materialised 1000, total 499500
    one slow record, ordered:   1.09 s
    one slow record, unordered: 1.00 s
"""

from collections.abc import Iterator

import trio

from arborist.runtime import Runtime, Workflow

N_RECORDS = 1_000


def read_records(n: int) -> Iterator[dict[str, int]]:
    """A lazy source, as a file or a cursor would be."""
    for i in range(n):
        yield {"id": i, "amount": i}


def batch_workflow(batch_size: int) -> Workflow:
    wf = Workflow(f"batch_{batch_size}", inputs=["n"])

    @wf.step
    async def records(n: int) -> Iterator[dict[str, int]]:
        return read_records(n)

    @wf.map(
        over="records",
        batch_size=batch_size,
        reduce=lambda total, amount: total + amount,
        initial=0,
    )
    async def process(record: dict[str, int]) -> int:
        await trio.sleep(0.01)
        return record["amount"]

    wf.returns("process")
    return wf


def slow_record_workflow(ordered: bool) -> Workflow:
    """Record 0 takes 1 s, the others 10 ms: ordered, the window waits for record 0."""
    wf = Workflow(f"slow_{ordered}", inputs=["n"])

    @wf.step
    async def records(n: int) -> Iterator[dict[str, int]]:
        return read_records(n)

    @wf.map(over="records", batch_size=10, ordered=ordered)
    async def process(record: dict[str, int]) -> int:
        await trio.sleep(1.0 if record["id"] == 0 else 0.01)
        return record["id"]

    wf.returns("process")
    return wf


def seconds(elapsed: float) -> str:
    """Rounded to 10 ms, so the real clock prints what the mock clock does."""
    return f"{round(elapsed, 2):.2f}"


async def main() -> None:
    async with Runtime() as rt:
        for batch_size in (10, 100, 1000):
            wf = batch_workflow(batch_size)
            begin = trio.current_time()
            total = await rt.run(wf, n=N_RECORDS)
            elapsed = seconds(trio.current_time() - begin)
            peak = wf.steps["process"].map_statistics.peak_materialised
            print(
                f"batch_size {batch_size:>4}: {N_RECORDS} records in {elapsed} s, peak "
                f"materialised {peak}, total {total}"
            )
        for ordered in (True, False):
            begin = trio.current_time()
            await rt.run(slow_record_workflow(ordered), n=100)
            label = "ordered:  " if ordered else "unordered:"
            print(f"one slow record, {label} {seconds(trio.current_time() - begin)} s")


if __name__ == "__main__":
    trio.run(main)
