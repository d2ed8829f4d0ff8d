"""Bad input to every public entry point is refused at the call, with a message naming it.

One row per case (``bad_input_*.py`` tables: actors, supervision, workflows, schedules,
jobs, embedding); each row is one call with one bad argument: a wrong type, None where it is not
allowed, a number as a string, a negative number, NaN, infinity where it means nothing, zero,
an absurdly small interval, a bool for a number, an unknown option, arguments that do not fit
the job's signature. The call itself must raise TypeError or ValueError (or the error the API
documents) and the message must name the parameter and show the value (``bad_input_env``).
Rows that fail today (issue 9) are strict xfails: one that starts passing fails the suite, so
whoever fixes it removes its mark.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from bad_input_actors import CASES as ACTOR_CASES
from bad_input_embed import CASES as EMBED_CASES
from bad_input_embed import THREAD_CASES
from bad_input_env import Case, check_raised, params, run_case
from bad_input_jobs import CASES as JOB_CASES
from bad_input_schedules import CASES as SCHEDULE_CASES
from bad_input_supervision import CASES as SUPERVISION_CASES
from bad_input_workflows import CASES as WORKFLOW_CASES

from arborist.runtime import BackgroundRuntime, Runtime

TRIO_CASES = [
    *ACTOR_CASES,
    *SUPERVISION_CASES,
    *WORKFLOW_CASES,
    *SCHEDULE_CASES,
    *EMBED_CASES,
    *JOB_CASES,
]


@pytest.mark.parametrize("case", params(TRIO_CASES))
async def test_bad_input_is_refused_at_the_call_with_a_message_naming_it(
    case: Case, autojump_clock: Any
) -> None:
    await run_case(case)


@pytest.fixture(scope="module")
def background() -> Iterator[BackgroundRuntime]:
    with Runtime.background() as bg:
        yield bg


@pytest.mark.parametrize("case", params(THREAD_CASES))
def test_bad_input_to_an_embedded_runtime_is_refused_at_the_blocking_call(
    case: Case, background: BackgroundRuntime
) -> None:
    try:
        case.call(background)
    except Exception as error:
        check_raised(case, error)
    else:
        check_raised(case, None)


def test_the_tables_walk_at_least_236_cases_with_unique_ids() -> None:
    cases = [*TRIO_CASES, *THREAD_CASES]

    assert len(cases) >= 236
    assert len({case.id for case in cases}) == len(cases)
