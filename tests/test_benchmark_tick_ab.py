"""``benchmarks/tick_ab.py``: W7's tick on this tree against a revision's, in process pairs."""

import re

import git_checkout
import pytest

from benchmarks import tick_ab

needs_git = git_checkout.needs_git("benchmarks.tick_ab")


@needs_git
def test_a_revisions_tree_is_linked_as_an_arborist_package_of_its_own(tmp_path):
    links = tick_ab.tree("HEAD", tmp_path)

    for layer in tick_ab.LAYERS:
        linked = (links / "arborist" / layer).resolve()
        assert linked.is_relative_to(tmp_path.resolve())
        assert (linked / "__init__.py").is_file()


@needs_git
def test_it_prints_each_pair_and_the_ratio_of_the_two_trees_medians(capsys):
    argv = ["--against", "HEAD", "--schedules", "3", "--pairs", "2", "--repeats", "1"]
    assert tick_ab.main([*argv, "--ticks", "9"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["pair 1", "pair 2"]
    assert re.fullmatch(
        r"W7 tick / grouped floor at 3 schedules, median of 2: this tree \d+\.\d{3}x, "
        r"HEAD \d+\.\d{3}x; this tree / HEAD: \d+\.\d{4}",
        lines[2],
    )


@needs_git
def test_a_revision_git_cannot_give_is_refused_with_what_to_give(tmp_path):
    with pytest.raises(SystemExit, match="give a commit, a branch or a tag"):
        tick_ab.tree("no-such-revision", tmp_path)


def test_counts_below_one_are_refused_naming_the_flag(capsys):
    with pytest.raises(SystemExit):
        tick_ab.main(["--against", "HEAD", "--pairs", "0"])
    assert "--pairs takes a positive count; got 0" in capsys.readouterr().err
