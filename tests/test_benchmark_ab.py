"""``benchmarks/ab.py``: another revision's actor kernel, imported beside this tree's and timed
against it in one process."""

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import git_checkout  # noqa: E402

from arborist import actors  # noqa: E402
from benchmarks import ab  # noqa: E402

needs_git = git_checkout.needs_git("benchmarks.ab")


@needs_git
def test_a_revisions_kernel_is_a_package_of_its_own_beside_this_trees(tmp_path):
    kernel = ab.load_kernel("HEAD", tmp_path)
    assert kernel is not actors
    assert kernel.Actor is not actors.Actor
    assert Path(kernel.__file__).resolve().is_relative_to(tmp_path.resolve())


@needs_git
def test_two_loads_of_one_revision_are_two_packages(tmp_path):
    first = ab.load_kernel("HEAD", tmp_path / "one")
    second = ab.load_kernel("HEAD", tmp_path / "two")
    assert first is not second
    assert first.Actor is not second.Actor


def test_a_folder_that_holds_actors_is_loaded_from_that_folder(tmp_path):
    shutil.copytree(ROOT / "actors", tmp_path / "tree" / "actors")
    kernel = ab.load_kernel(str(tmp_path / "tree"), tmp_path / "work")
    assert kernel.Actor is not actors.Actor
    assert Path(kernel.__file__).resolve().is_relative_to((tmp_path / "tree").resolve())


def test_a_kernel_that_imports_arborist_by_name_is_refused(tmp_path):
    package = tmp_path / "tree" / "actors"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from ._ref import ActorRef\n")
    (package / "_ref.py").write_text("import os\nfrom arborist.actors import _errors\n")
    with pytest.raises(SystemExit, match=r"imports arborist by its absolute name \(_ref.py:2\)"):
        ab.load_kernel(str(tmp_path / "tree"), tmp_path / "work")


@needs_git
def test_an_unknown_revision_says_what_to_give(tmp_path):
    with pytest.raises(SystemExit, match="give a commit, a branch, a tag, or a folder"):
        ab.load_kernel("no-such-revision", tmp_path)


@pytest.mark.parametrize("workload", ["w1", "w2"])
def test_each_workload_runs_on_both_kernels_and_the_floor(tmp_path, workload):
    shutil.copytree(ROOT / "actors", tmp_path / "tree" / "actors")
    kernel = ab.load_kernel(str(tmp_path / "tree"), tmp_path / "work")
    report = ab.compare(workload, "the copy", kernel, repeats=1, size=50)
    lines = report.splitlines()
    for row in (
        f"{workload} trio deque floor [floor]",
        "arborist.actors at the copy",
        "arborist.actors of this tree",
    ):
        assert any(line.startswith(f"| {row} ") for line in lines), row
    ratio = lines[-1]
    assert ratio.startswith("this tree / the copy: ")
    assert float(ratio.removeprefix("this tree / the copy: ").removesuffix("x")) > 0


def test_the_command_refuses_a_count_below_one(capsys):
    with pytest.raises(SystemExit):
        ab.main(["w2", "--against", "HEAD", "--repeats", "0"])
    assert "--repeats takes a positive count; got 0" in capsys.readouterr().err


def test_an_unknown_workload_is_refused_with_the_choices(tmp_path):
    with pytest.raises(ValueError, match="no workload 'w9'; choose from w1, w2"):
        ab.compare("w9", "HEAD", actors, repeats=1)
