"""A missing engine is reported when its executor is constructed, with the extra to install."""

import sys

import pytest

from arborist.runtime.executors import DaskExecutor, EngineMissingError, RayExecutor


def test_importing_the_executors_imports_no_engine():
    code = (
        "import sys, arborist.runtime.executors; "
        "print([m for m in ('distributed', 'ray') if m in sys.modules])"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"


def test_a_missing_dask_names_the_dask_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)

    with pytest.raises(EngineMissingError, match=r"pip install 'arborist\[dask\]'") as info:
        DaskExecutor(address="tcp://127.0.0.1:8786")

    assert info.value.extra == "dask"
    assert info.value.module == "distributed"


def test_a_missing_ray_names_the_ray_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)

    with pytest.raises(EngineMissingError, match=r"RayExecutor needs 'ray'.*arborist\[ray\]"):
        RayExecutor()


def test_dask_needs_exactly_one_way_to_reach_a_cluster():
    with pytest.raises(ValueError, match="exactly one of address=, cluster= or client=; got none"):
        DaskExecutor()
