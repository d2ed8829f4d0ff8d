"""The saga matrix, in the style of Sage's own suite: every step result x every compensation.

The workflow is Sage's create-and-subscribe shape: ``create_user`` -> ``charge_card`` ->
``subscribe`` (the step under test) -> ``send_email``. Every step with an effect writes it to a
``Ledger``, and every undo takes it back, so the assertions can say, for each combination:

- no uncompensated effect remains when the run fails (``ledger.live == []``), and every effect
  stands when it succeeds;
- the undos ran in exactly reverse completion order (LIFO);
- the step under test ran the expected number of attempts.

Step results (``subscribe``):

- ``ok``: returns a value;
- ``error``: an async step raises a domain error;
- ``raise``: a blocking ``def`` step raises on its worker thread;
- ``timeout``: an attempt outlives the step's ``timeout``;
- ``error_then_ok``: the first attempt raises, the next ones succeed.

Compensations (``@subscribe.compensate``): ``ok`` (returns None: the error stands), ``retry``
(``RetryStep()``), ``continue`` (``ContinueWith``, after a fallback wrote its own effect),
``raise`` (the compensate function itself raises). ``later`` says whether ``send_email``,
after the step under test, succeeds or fails (which rolls back a successful ``subscribe`` too).
"""

import pytest
import trio

from arborist.runtime import (
    DEFAULT_COMPENSATE_ATTEMPTS,
    ContinueWith,
    RetryStep,
    Runtime,
    StepTimeoutError,
    Workflow,
    WorkflowFailedError,
)

STEP_RESULTS = ("ok", "error", "raise", "timeout", "error_then_ok")
COMPENSATIONS = ("ok", "retry", "continue", "raise")
LATER = ("succeeds", "fails")


class Declined(Exception):
    pass


class Broken(Exception):
    pass


class CompensateBug(Exception):
    pass


class MailDown(Exception):
    pass


class Ledger:
    """Effects applied and reverted, in order; ``live`` is what is still in effect."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.reverted: list[str] = []
        self.attempts = 0

    def apply(self, effect: str) -> None:
        self.applied.append(effect)

    def revert(self, effect: str) -> None:
        assert effect in self.live, f"undo of {effect!r}, which is not in effect"
        self.reverted.append(effect)

    @property
    def live(self) -> list[str]:
        return [effect for effect in self.applied if effect not in self.reverted]


def subscription_workflow(ledger: Ledger, step_result: str, compensation: str, later: str):
    wf = Workflow("subscribe_user", inputs=["email"])

    @wf.step
    async def create_user(email):
        await trio.sleep(1.0)
        ledger.apply(f"user:{email}")
        return email

    @create_user.undo
    async def delete_user(user, arguments):
        ledger.revert(f"user:{user}")

    @wf.step
    async def charge_card(create_user):
        await trio.sleep(1.0)
        ledger.apply("charge:4.99")
        return 4.99

    @charge_card.undo
    async def refund(amount, arguments):
        ledger.revert(f"charge:{amount}")

    timeout = 5.0 if step_result == "timeout" else None
    if step_result == "raise":

        @wf.step
        def subscribe(charge_card):
            ledger.attempts += 1
            raise Broken("billing client bug")

    else:

        @wf.step(timeout=timeout)
        async def subscribe(charge_card):
            ledger.attempts += 1
            await trio.sleep(1.0)
            if step_result == "error" or (step_result == "error_then_ok" and ledger.attempts == 1):
                raise Declined("plan unavailable")
            if step_result == "timeout":
                await trio.sleep_forever()
            ledger.apply("subscription:standard")
            return "standard"

    @subscribe.compensate
    async def decide(error):
        if compensation == "retry":
            return RetryStep()
        if compensation == "continue":
            ledger.apply("subscription:free")
            return ContinueWith("free")
        if compensation == "raise":
            raise CompensateBug("cannot decide")
        return None

    @subscribe.undo
    async def unsubscribe(plan, arguments):
        ledger.revert(f"subscription:{plan}")

    @wf.step
    async def send_email(subscribe):
        await trio.sleep(1.0)
        if later == "fails":
            raise MailDown("smtp down")
        ledger.apply("email")

    return wf


def expected_attempts(step_result: str, compensation: str) -> int:
    if step_result == "ok":
        return 1
    if compensation != "retry":
        return 1
    if step_result == "error_then_ok":
        return 2
    return DEFAULT_COMPENSATE_ATTEMPTS


def step_succeeds(step_result: str, compensation: str) -> bool:
    return (
        step_result == "ok"
        or compensation == "continue"
        or (step_result == "error_then_ok" and compensation == "retry")
    )


def step_error(step_result: str) -> type[Exception]:
    return {
        "error": Declined,
        "error_then_ok": Declined,
        "raise": Broken,
        "timeout": StepTimeoutError,
    }[step_result]


@pytest.mark.parametrize("later", LATER)
@pytest.mark.parametrize("compensation", COMPENSATIONS)
@pytest.mark.parametrize("step_result", STEP_RESULTS)
async def test_no_uncompensated_effect_remains_and_undos_run_in_reverse_completion_order(
    autojump_clock, step_result, compensation, later
):
    ledger = Ledger()
    wf = subscription_workflow(ledger, step_result, compensation, later)
    run_ok = step_succeeds(step_result, compensation) and later == "succeeds"
    async with Runtime(seed=0) as rt:
        if run_ok:
            await rt.run(wf, email="ann@example.com")
        else:
            with pytest.raises(WorkflowFailedError) as info:
                await rt.run(wf, email="ann@example.com")

    assert ledger.attempts == expected_attempts(step_result, compensation)
    if run_ok:
        assert ledger.reverted == []
        assert ledger.live == ledger.applied
        assert ledger.applied[-1] == "email"
        return
    error = info.value
    assert ledger.live == []
    assert ledger.reverted == ledger.applied[::-1]
    assert error.undone == tuple(reversed(error.completed))
    assert error.undo_errors == ()
    if step_succeeds(step_result, compensation):
        assert error.step == "send_email"
        assert isinstance(error.cause, MailDown)
        assert error.undone == ("subscribe", "charge_card", "create_user")
    else:
        assert error.step == "subscribe"
        assert error.undone == ("charge_card", "create_user")
        if compensation == "raise":
            assert isinstance(error.cause, CompensateBug)
            assert isinstance(error.cause.__cause__, step_error(step_result))
        else:
            assert isinstance(error.cause, step_error(step_result))
